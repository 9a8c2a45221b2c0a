package ciengine

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func TestGCForDisk(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct {
		disk int64
		want GC
	}{
		{252 * gib, GC{MaxUsedSpace: "126GiB", ReservedSpace: "10GiB", MinFreeSpace: "37GiB"}},
		{40 * gib, GC{MaxUsedSpace: "20GiB", ReservedSpace: "4GiB", MinFreeSpace: "6GiB"}},
		{2 * gib, GC{MaxUsedSpace: "1GiB", ReservedSpace: "1GiB", MinFreeSpace: "1GiB"}},
	} {
		if got := GCForDisk(c.disk); got != c.want {
			t.Errorf("GCForDisk(%d GiB) = %+v, want %+v", c.disk/gib, got, c.want)
		}
	}
}

func TestRenderRefusesBadOptions(t *testing.T) {
	ok := Options{Image: "registry.dagger.io/engine:v0.21.0"}
	for _, c := range []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no image", func(o *Options) { o.Image = " " }, "image"},
		{"upper-case name", func(o *Options) { o.Name = "Dagger" }, "name"},
		{"bad namespace", func(o *Options) { o.Namespace = "a_b" }, "namespace"},
		{"relative state dir", func(o *Options) { o.StateDir = "var/lib/dagger" }, "state dir"},
		{"state dir is /", func(o *Options) { o.StateDir = "/" }, "state dir"},
		{"run dir is the state dir", func(o *Options) { o.StateDir, o.RunDir = "/srv/d", "/srv/d/" }, "run dir"},
		{"relative host mount", func(o *Options) { o.HostMounts = []HostMount{{HostPath: "x", MountPath: "/x"}} }, "host mount 1"},
		{"relative mount path", func(o *Options) { o.HostMounts = []HostMount{{HostPath: "/x", MountPath: "x"}} }, "host mount 1's path in the container"},
		{"gc word", func(o *Options) { o.GC.MaxUsedSpace = "lots" }, "gc maxUsedSpace"},
		{"gc negative", func(o *Options) { o.GC.MinFreeSpace = "-5GB" }, "gc minFreeSpace"},
		{"env name", func(o *Options) { o.Env = []EnvVar{{Name: "A-B", Value: "1"}} }, "env"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := ok
			c.edit(&o)
			_, err := Render(o)
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Field != c.field {
				t.Fatalf("Render: got %v, want an OptionError on %q", err, c.field)
			}
		})
	}
	if _, err := Render(ok); err != nil {
		t.Fatalf("Render with only an image: %v", err)
	}
	for _, v := range []string{"30GB", "512MiB", "10%", "1000000"} {
		o := ok
		o.GC.MaxUsedSpace = v
		if _, err := Render(o); err != nil {
			t.Errorf("gc maxUsedSpace %q refused: %v", v, err)
		}
	}
}

func TestRenderDaemonSet(t *testing.T) {
	o := Options{
		Name: "ci", Namespace: "build", Image: "127.0.0.1:5001/dagger/engine:v0.21.0",
		GC:          GC{MaxUsedSpace: "30GB", ReservedSpace: "10GB", MinFreeSpace: "5GB"},
		EngineTOML:  "[registry.\"docker.io\"]\n  mirrors = [\"mirror.example\"]\n",
		Env:         []EnvVar{{"B", "2"}, {"A", "1"}},
		HostNetwork: true,
		HostMounts:  []HostMount{{HostPath: "/srv/content", MountPath: "/usr/local/share/dagger/content", ReadOnly: true}},
	}
	objs, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	if objs.Namespace.Name != "build" || objs.Config.Namespace != "build" || objs.Engine.Namespace != "build" {
		t.Fatalf("namespaces: %s, %s, %s", objs.Namespace.Name, objs.Config.Namespace, objs.Engine.Namespace)
	}
	var engineJSON struct{ GC GC }
	if err := json.Unmarshal([]byte(objs.Config.Data["engine.json"]), &engineJSON); err != nil || engineJSON.GC != o.GC {
		t.Fatalf("engine.json %q: %v", objs.Config.Data["engine.json"], err)
	}
	if objs.Config.Data["engine.toml"] != o.EngineTOML {
		t.Fatalf("engine.toml %q", objs.Config.Data["engine.toml"])
	}
	ps := objs.Engine.Spec.Template.Spec
	c := ps.Containers[0]
	if c.Name != ContainerName || c.Image != o.Image {
		t.Fatalf("container %s image %s", c.Name, c.Image)
	}
	if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
		t.Fatal("the engine container is not privileged")
	}
	if !ps.HostNetwork || ps.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Fatalf("host network %v, dns policy %s", ps.HostNetwork, ps.DNSPolicy)
	}
	if *ps.TerminationGracePeriodSeconds != 300 {
		t.Fatalf("grace period %d", *ps.TerminationGracePeriodSeconds)
	}
	if got := []string{c.Env[0].Name, c.Env[1].Name}; got[0] != "B" || got[1] != "A" {
		t.Fatalf("env order %v", got)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	vols := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		vols[v.Name] = v
	}
	for mountPath, hostPath := range map[string]string{
		"/var/lib/dagger":                 "/var/lib/dagger-ci",
		"/run/dagger":                     "/var/run/dagger-ci",
		"/usr/local/share/dagger/content": "/srv/content",
	} {
		v, ok := vols[mounts[mountPath]]
		if !ok || v.HostPath == nil || v.HostPath.Path != hostPath {
			t.Errorf("%s: want the node's %s, got %+v", mountPath, hostPath, v)
		}
	}
	for _, f := range []string{"/etc/dagger/engine.json", "/etc/dagger/engine.toml"} {
		if v := vols[mounts[f]]; v.ConfigMap == nil || v.ConfigMap.Name != "ci" {
			t.Errorf("%s: not from ConfigMap ci: %+v", f, v)
		}
	}
	probe := strings.Join(c.ReadinessProbe.Exec.Command, " ")
	if !strings.Contains(probe, "unix:///run/dagger/engine.sock") || !strings.Contains(probe, "dagger core version") {
		t.Fatalf("readiness probe %q", probe)
	}
	sel := objs.Engine.Spec.Selector.MatchLabels
	for k, v := range sel {
		if objs.Engine.Spec.Template.Labels[k] != v {
			t.Fatalf("the selector %v does not match the template's labels %v", sel, objs.Engine.Spec.Template.Labels)
		}
	}

	// A configuration change restarts the engines; the same options do not.
	again, _ := Render(o)
	o.GC.MaxUsedSpace = "40GB"
	changed, _ := Render(o)
	hash := func(ds *appsv1.DaemonSet) string { return ds.Spec.Template.Annotations[configHashAnnotation] }
	if hash(again.Engine) != hash(objs.Engine) || hash(changed.Engine) == hash(objs.Engine) || hash(objs.Engine) == "" {
		t.Fatalf("config hash: same options %q vs %q, changed GC %q", hash(objs.Engine), hash(again.Engine), hash(changed.Engine))
	}
}

func TestRenderDefaultsAndYAML(t *testing.T) {
	objs, err := Render(Options{Image: "registry.dagger.io/engine:v0.21.0"})
	if err != nil {
		t.Fatal(err)
	}
	if objs.Engine.Name != DefaultName || objs.Engine.Namespace != DefaultNamespace {
		t.Fatalf("defaults: %s/%s", objs.Engine.Namespace, objs.Engine.Name)
	}
	if objs.Config.Data["engine.json"] != "{}\n" {
		t.Fatalf("zero GC: engine.json %q, want {} (the engine's defaults)", objs.Config.Data["engine.json"])
	}
	if objs.Engine.Spec.Template.Spec.HostNetwork {
		t.Fatal("host network by default")
	}
	y, err := objs.YAML()
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(strings.TrimPrefix(string(y), "---\n"), "---\n")
	if len(docs) != 3 {
		t.Fatalf("%d YAML documents, want 3:\n%s", len(docs), y)
	}
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict([]byte(docs[2]), &ds); err != nil || ds.Kind != "DaemonSet" || ds.Spec.Template.Spec.Containers[0].Image != "registry.dagger.io/engine:v0.21.0" {
		t.Fatalf("the DaemonSet document does not read back: %v\n%s", err, docs[2])
	}
}

func TestRunnerRoutes(t *testing.T) {
	if got, want := RunnerHost("ci", "dagger-engine-x7k2p"), "kube-pod://dagger-engine-x7k2p?container=dagger-engine&namespace=ci"; got != want {
		t.Fatalf("RunnerHost = %s, want %s", got, want)
	}
	v, m, e, err := Socket(Options{Name: "ci", Image: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if v.HostPath == nil || v.HostPath.Path != "/var/run/dagger-ci" || m.MountPath != "/run/dagger" || m.Name != v.Name {
		t.Fatalf("socket volume %+v mount %+v", v, m)
	}
	if e.Name != "_EXPERIMENTAL_DAGGER_RUNNER_HOST" || e.Value != "unix:///run/dagger/engine.sock" {
		t.Fatalf("socket env %+v", e)
	}
	if _, _, _, err := Socket(Options{}); err == nil {
		t.Fatal("Socket without an image: want the options refused")
	}
}
