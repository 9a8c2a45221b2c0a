package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// nonRootUID is goship's runtime image user (see pipeline/image).
const nonRootUID = 65532

// objects are what one release applies and records: the env Secret (if
// any), the generated Deployment and Service or the user's manifests
// with the image pinned, and the extras (PodDisruptionBudget, Ingress).
// The pull secret is not among them: it is applied fresh on every deploy
// and never rolled back to stale credentials.
func objects(s Spec, release string) ([]*unstructured.Unstructured, error) {
	objs, err := appObjects(s, release)
	if err != nil {
		return nil, err
	}
	more, err := extras(s, objs)
	if err != nil {
		return nil, err
	}
	return append(objs, more...), nil
}

func appObjects(s Spec, release string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	envName := ""
	if len(s.Env) > 0 {
		sec, err := envSecret(s)
		if err != nil {
			return nil, err
		}
		envName = sec.GetName()
		out = append(out, sec)
	}
	if len(s.Manifests) > 0 {
		objs, err := userObjects(s)
		if err != nil {
			return nil, err
		}
		if err := pinUserDeployment(objs, s, release, envName); err != nil {
			return nil, err
		}
		return append(out, objs...), nil
	}
	dep, err := toUnstructured(deployment(s, release, envName), appsv1.SchemeGroupVersion.WithKind("Deployment"))
	if err != nil {
		return nil, err
	}
	svc, err := toUnstructured(service(s), corev1.SchemeGroupVersion.WithKind("Service"))
	if err != nil {
		return nil, err
	}
	return append(out, dep, svc), nil
}

func selector(app string) map[string]string { return map[string]string{labelName: app} }

func commonLabels(s Spec) map[string]string {
	l := map[string]string{labelName: s.App, labelApp: s.App, labelManagedBy: fieldManager}
	if v := labelValue(s.Version); v != "" {
		l[labelVersion] = v
	}
	return l
}

func releaseAnnotations(s Spec, release string) map[string]string {
	return map[string]string{annoRelease: release, annoVersion: s.Version, annoCommit: s.Commit, annoWho: s.Who}
}

func deployment(s Spec, release, envSecret string) *appsv1.Deployment {
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(1)
	grace := int64(s.PreStopSleep.Seconds()) + 30 // the sleep, then the app's own drain
	settle := int32(s.Settle.Seconds())
	deadline := max(int32(s.Timeout.Seconds()), settle+1)
	history := int32(s.Keep) //nolint:gosec // Validate caps Keep at maxKeep
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: s.App, Labels: commonLabels(s), Annotations: releaseAnnotations(s, release)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &s.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector(s.App)},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			// An old pod goes only once a new one stayed Ready for the settle
			// window, like the settle gate on SSH hosts.
			MinReadySeconds:         settle,
			ProgressDeadlineSeconds: &deadline,
			RevisionHistoryLimit:    &history,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: commonLabels(s)},
				Spec:       podSpec(s, envSecret, grace),
			},
		},
	}
}

func podSpec(s Spec, envSecret string, grace int64) corev1.PodSpec {
	no, yes := false, true
	uid := int64(nonRootUID)
	probe := func(period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: s.HealthPath, Port: intstr.FromString("http")}},
			PeriodSeconds:    period,
			TimeoutSeconds:   2,
			FailureThreshold: failures,
		}
	}
	c := corev1.Container{
		Name:            s.App,
		Image:           s.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(s.Port), //nolint:gosec // Validate keeps Port in 1-65535
			Protocol: corev1.ProtocolTCP}},
		ReadinessProbe: probe(2, 2),
		LivenessProbe:  probe(10, 3),
		Resources:      resources(s),
		// The image is scratch: no shell, no sleep binary. The kubelet's own
		// sleep keeps a terminating pod serving while endpoints update.
		Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(s.PreStopSleep.Seconds())}}},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             &yes,
			RunAsUser:                &uid,
			RunAsGroup:               &uid,
			ReadOnlyRootFilesystem:   &yes,
			AllowPrivilegeEscalation: &no,
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if envSecret != "" {
		c.EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: envSecret}}}}
	}
	ps := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  &no,
		SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: &yes, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}
	if s.RegistryAuth != nil {
		ps.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecretName(s.App)}}
	}
	return ps
}

func resources(s Spec) corev1.ResourceRequirements {
	var r corev1.ResourceRequirements
	set := func(list *corev1.ResourceList, k corev1.ResourceName, q string) {
		if q == "" {
			return
		}
		if *list == nil {
			*list = corev1.ResourceList{}
		}
		(*list)[k] = resource.MustParse(q) // Validate parsed it already
	}
	set(&r.Requests, corev1.ResourceCPU, s.CPURequest)
	set(&r.Requests, corev1.ResourceMemory, s.MemoryRequest)
	set(&r.Limits, corev1.ResourceCPU, s.CPULimit)
	set(&r.Limits, corev1.ResourceMemory, s.MemoryLimit)
	return r
}

func service(s Spec) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.App, Labels: commonLabels(s)},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selector(s.App),
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// envSecret holds the .env file. Its name carries a hash of the content,
// so a changed .env rolls the pods and an old release keeps its own.
func envSecret(s Spec) (*unstructured.Unstructured, error) {
	env, err := parseDotEnv(s.Env)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		_, _ = fmt.Fprintf(h, "%s=%s\n", k, env[k])
	}
	data := make(map[string][]byte, len(env))
	for k, v := range env {
		data[k] = []byte(v)
	}
	yes := true
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:   s.App + "-env-" + hex.EncodeToString(h.Sum(nil))[:10],
			Labels: map[string]string{labelApp: s.App, labelPart: "env", labelManagedBy: fieldManager},
		},
		Immutable: &yes,
		Type:      corev1.SecretTypeOpaque,
		Data:      data,
	}
	return toUnstructured(sec, corev1.SchemeGroupVersion.WithKind("Secret"))
}

func pullSecretName(app string) string { return app + "-pull" }

// pullSecret is a kubernetes.io/dockerconfigjson Secret for a.
func pullSecret(app string, a RegistryAuth) (*unstructured.Unstructured, error) {
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{a.Host: map[string]string{"username": a.Username, "password": a.Password}}})
	if err != nil {
		return nil, fmt.Errorf("encoding the pull secret for %s: %w", a.Host, err)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: pullSecretName(app), Labels: map[string]string{labelApp: app, labelPart: "pull", labelManagedBy: fieldManager}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
	return toUnstructured(sec, corev1.SchemeGroupVersion.WithKind("Secret"))
}

// toUnstructured turns a typed object into the body of an apply, without
// the empty status and creation time the conversion adds.
func toUnstructured(obj runtime.Object, gvk schema.GroupVersionKind) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", gvk.Kind, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

func unstructuredOf(m map[string]any, apiVersion, kind string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	return u
}
