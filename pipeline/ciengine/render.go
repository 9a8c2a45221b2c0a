package ciengine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Objects are what one engine applies, in order.
type Objects struct {
	Namespace *corev1.Namespace
	Config    *corev1.ConfigMap
	Engine    *appsv1.DaemonSet
}

// Labels.
const (
	labelName      = "app.kubernetes.io/name"
	labelInstance  = "app.kubernetes.io/instance"
	labelManagedBy = "app.kubernetes.io/managed-by"
	// configHashAnnotation restarts the engine pods when their
	// configuration changes (a subPath mount never sees a ConfigMap edit).
	configHashAnnotation = "goship.dev/engine-config-sha256"
)

// Render checks o and turns it into the objects to apply. GC is taken as
// given (zero: no gc section, the engine's own defaults).
func Render(o Options) (Objects, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Objects{}, err
	}
	engineJSON, err := json.Marshal(struct {
		GC *GC `json:"gc,omitempty"`
	}{gcOrNil(o.GC)})
	if err != nil {
		return Objects{}, fmt.Errorf("ci engine: engine.json: %w", err)
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(o)}
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(o.Name),
		Data:       map[string]string{"engine.json": string(engineJSON) + "\n", "engine.toml": o.EngineTOML},
	}
	sum := sha256.Sum256([]byte(cm.Data["engine.json"] + "\x00" + cm.Data["engine.toml"]))
	ds := &appsv1.DaemonSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
		ObjectMeta: meta(o.Name),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector(o)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels(o),
					Annotations: map[string]string{configHashAnnotation: hex.EncodeToString(sum[:])},
				},
				Spec: podSpec(o),
			},
		},
	}
	ns := &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Namespace},
	}
	return Objects{Namespace: ns, Config: cm, Engine: ds}, nil
}

// YAML is the objects as one multi-document YAML stream, for kubectl
// apply --server-side -f - or a GitOps repository.
func (objs Objects) YAML() ([]byte, error) {
	var out []byte
	for _, obj := range []any{objs.Namespace, objs.Config, objs.Engine} {
		j, err := applyJSON(obj)
		if err != nil {
			return nil, fmt.Errorf("ci engine: rendering YAML: %w", err)
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return nil, fmt.Errorf("ci engine: rendering YAML: %w", err)
		}
		out = append(append(out, "---\n"...), y...)
	}
	return out, nil
}

func gcOrNil(g GC) *GC {
	if g.IsZero() {
		return nil
	}
	return &g
}

func selector(o Options) map[string]string {
	return map[string]string{labelName: "dagger-engine", labelInstance: o.Name}
}

func labels(o Options) map[string]string {
	l := selector(o)
	l[labelManagedBy] = "goship"
	return l
}

func podSpec(o Options) corev1.PodSpec {
	privileged, no := true, false
	grace := int64(o.GracePeriod.Seconds())
	dirOrCreate := corev1.HostPathDirectoryOrCreate
	hostPath := func(name, dir string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirOrCreate}}}
	}
	volumes := []corev1.Volume{
		hostPath("state", o.StateDir),
		hostPath("run", o.RunDir),
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: o.Name}}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "state", MountPath: "/var/lib/dagger"},
		{Name: "run", MountPath: socketDir},
		{Name: "config", MountPath: "/etc/dagger/engine.json", SubPath: "engine.json", ReadOnly: true},
		{Name: "config", MountPath: "/etc/dagger/engine.toml", SubPath: "engine.toml", ReadOnly: true},
	}
	for i, m := range o.HostMounts {
		name := fmt.Sprintf("host-%d", i+1)
		volumes = append(volumes, hostPath(name, m.HostPath))
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: m.MountPath, ReadOnly: m.ReadOnly})
	}
	env := make([]corev1.EnvVar, 0, len(o.Env))
	for _, e := range o.Env {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	c := corev1.Container{
		Name:            ContainerName,
		Image:           o.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Env:             env,
		// The engine runs containers itself: it needs every capability and
		// unconfined device access, as `docker run --privileged` gives it.
		SecurityContext: &corev1.SecurityContext{
			Privileged:   &privileged,
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"ALL"}},
		},
		// As Dagger's chart: the image's own CLI asks the engine for its
		// version through the socket; more often, so a restarted engine
		// is back in the Service within seconds.
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{
				"sh", "-c", "DO_NOT_TRACK=1 _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://" + socketDir + "/engine.sock exec dagger core version",
			}}},
			InitialDelaySeconds: 1,
			PeriodSeconds:       3,
			TimeoutSeconds:      14,
			FailureThreshold:    10,
		},
		VolumeMounts:             mounts,
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	ps := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		Volumes:                       volumes,
		HostNetwork:                   o.HostNetwork,
		NodeSelector:                  o.NodeSelector,
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  &no,
	}
	if o.HostNetwork {
		ps.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}
	return ps
}

// RunnerHost is the _EXPERIMENTAL_DAGGER_RUNNER_HOST value that reaches
// the engine in pod (of namespace) through kubectl exec.
func RunnerHost(namespace, pod string) string {
	q := url.Values{"namespace": {namespace}, "container": {ContainerName}}
	return "kube-pod://" + pod + "?" + q.Encode()
}

// Socket is what a runner pod on an engine's node adds to reach it through
// the node's socket directory: the volume, its mount, and the
// _EXPERIMENTAL_DAGGER_RUNNER_HOST variable. The runner must run as root
// (the socket is root's).
func Socket(o Options) (corev1.Volume, corev1.VolumeMount, corev1.EnvVar, error) {
	o, err := o.withDefaults()
	if err != nil {
		return corev1.Volume{}, corev1.VolumeMount{}, corev1.EnvVar{}, err
	}
	dir := corev1.HostPathDirectory
	v := corev1.Volume{Name: "dagger-engine-socket", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: o.RunDir, Type: &dir}}}
	m := corev1.VolumeMount{Name: v.Name, MountPath: socketDir}
	e := corev1.EnvVar{Name: "_EXPERIMENTAL_DAGGER_RUNNER_HOST", Value: "unix://" + socketDir + "/engine.sock"}
	return v, m, e, nil
}
