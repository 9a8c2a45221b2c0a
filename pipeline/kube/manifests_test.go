package kube

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/goship-dev/goship/pipeline/outcome"
)

func byKind(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s among %d objects", kind, len(objs))
	return nil
}

func typedDeployment(t *testing.T, u *unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestGeneratedDeployment(t *testing.T) {
	s := validSpec()
	s.Port, s.HealthPath, s.Version, s.Who = 9000, "/ready", "v1.2.0", "ci"
	s.MemoryLimit = "128Mi"
	s.Env = []byte("TOKEN=s3cret\n")
	s.RegistryAuth = &RegistryAuth{Host: "r.example", Username: "u", Password: "p"}
	s = s.withDefaults()
	objs, err := objects(s, "20260101000000-v1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 4 {
		t.Fatalf("%d objects, want env Secret, Deployment, Service, PodDisruptionBudget", len(objs))
	}
	if _, ok := byKind(t, objs, "Deployment").Object["status"]; ok {
		t.Error("the applied Deployment carries a status")
	}
	d := typedDeployment(t, byKind(t, objs, "Deployment"))
	if d.Annotations[annoRelease] != "20260101000000-v1.2.0" || d.Labels[labelVersion] != "v1.2.0" {
		t.Errorf("release annotation/version label: %v %v", d.Annotations, d.Labels)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 || d.Spec.Strategy.RollingUpdate.MaxSurge.IntValue() != 1 {
		t.Errorf("replicas/strategy: %d %+v", *d.Spec.Replicas, d.Spec.Strategy.RollingUpdate)
	}
	if d.Spec.MinReadySeconds != int32(DefaultSettle.Seconds()) {
		t.Errorf("minReadySeconds %d, want the settle window", d.Spec.MinReadySeconds)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != testDigest || c.Ports[0].ContainerPort != 9000 {
		t.Errorf("image %s port %d", c.Image, c.Ports[0].ContainerPort)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/ready" || c.LivenessProbe.HTTPGet.Path != "/ready" {
		t.Error("probes do not use the health path")
	}
	sc := c.SecurityContext
	if !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("security context %+v", sc)
	}
	sleep := c.Lifecycle.PreStop.Sleep
	if sleep == nil || sleep.Seconds != 5 || *pod.TerminationGracePeriodSeconds <= sleep.Seconds {
		t.Errorf("preStop sleep %+v, grace %d", sleep, *pod.TerminationGracePeriodSeconds)
	}
	if q := c.Resources.Limits[corev1.ResourceMemory]; q.String() != "128Mi" {
		t.Errorf("memory limit %s", q.String())
	}
	env := byKind(t, objs, "Secret")
	if c.EnvFrom[0].SecretRef.Name != env.GetName() || !strings.HasPrefix(env.GetName(), "hello-env-") {
		t.Errorf("envFrom %+v, env Secret %s", c.EnvFrom, env.GetName())
	}
	if pod.ImagePullSecrets[0].Name != "hello-pull" {
		t.Errorf("pull secrets %v", pod.ImagePullSecrets)
	}
	svc := byKind(t, objs, "Service")
	if sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector"); sel[labelName] != "hello" {
		t.Errorf("service selector %v", sel)
	}

	// A changed .env is a new Secret name, so the pods roll.
	s.Env = []byte("TOKEN=other\n")
	objs2, err := objects(s, "x")
	if err != nil {
		t.Fatal(err)
	}
	if byKind(t, objs2, "Secret").GetName() == env.GetName() {
		t.Error("a changed .env kept the Secret name")
	}
}

func TestPullSecret(t *testing.T) {
	u, err := pullSecret("hello", RegistryAuth{Host: "r.example", Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	var sec corev1.Secret
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &sec); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Auths map[string]struct{ Username, Password string }
	}
	if err := json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
		t.Fatal(err)
	}
	if sec.Type != corev1.SecretTypeDockerConfigJson || cfg.Auths["r.example"].Username != "u" || cfg.Auths["r.example"].Password != "p" {
		t.Errorf("pull secret %s %+v", sec.Type, cfg)
	}
}

const userDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: 3
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers:
      - name: sidecar
        image: example/sidecar:1
      - name: hello
        image: example/hello:latest
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
`

func TestUserManifestsPinned(t *testing.T) {
	s := validSpec()
	s.Manifests = map[string][]byte{"app.yaml": []byte(userDeployment), "README.md": []byte("not yaml")}
	s.Env = []byte("A=1")
	s.RegistryAuth = &RegistryAuth{Host: "r", Username: "u", Password: "p"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	objs, err := objects(s.withDefaults(), "rel1")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 4 {
		t.Fatalf("%d objects, want env Secret + Deployment + Service + PodDisruptionBudget (3 replicas)", len(objs))
	}
	d := typedDeployment(t, byKind(t, objs, "Deployment"))
	cs := d.Spec.Template.Spec.Containers
	if cs[0].Image != "example/sidecar:1" || cs[1].Image != testDigest {
		t.Errorf("images %s, %s: want only the app's container pinned", cs[0].Image, cs[1].Image)
	}
	if *d.Spec.Replicas != 3 || d.Annotations[annoRelease] != "rel1" || d.Labels[labelApp] != "hello" {
		t.Errorf("user fields lost or marks missing: %d %v %v", *d.Spec.Replicas, d.Annotations, d.Labels)
	}
	if len(cs[1].EnvFrom) != 1 || d.Spec.Template.Spec.ImagePullSecrets[0].Name != "hello-pull" {
		t.Errorf("env/pull secret not wired: %+v %+v", cs[1].EnvFrom, d.Spec.Template.Spec.ImagePullSecrets)
	}
	if n, _, _ := unstructured.NestedInt64(byKind(t, objs, "Deployment").Object, "spec", "replicas"); n != 3 {
		t.Errorf("replicas read back as %d: numbers must stay integers", n)
	}
}

func TestUserManifestsErrors(t *testing.T) {
	two := strings.Replace(userDeployment, "name: hello\n        image", "name: web\n        image", 1)
	for name, files := range map[string]map[string][]byte{
		"no container named app": {"a.yaml": []byte(two)},
		"bad yaml":               {"a.yaml": []byte("kind: [")},
		"no kind":                {"a.yaml": []byte("apiVersion: v1\nmetadata: {name: x}\n")},
		"nothing":                {"notes.txt": []byte("x")},
	} {
		s := validSpec()
		s.Manifests = files
		_, err := objects(s.withDefaults(), "r")
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "manifests") {
			t.Errorf("%s: %v: want an error naming the manifests", name, err)
		}
	}
}

func TestReleaseRecordRoundTrip(t *testing.T) {
	s := validSpec()
	s.Version, s.Who = "v1.0.0+build/7", "ci@example"
	s.Env = []byte("K=v")
	s = s.withDefaults()
	at := time.Date(2026, 12, 2, 14, 5, 1, 0, time.UTC)
	name := releaseName(at, s.Version)
	if name != "20261202140501-v1-0-0-build-7" {
		t.Errorf("release name %q", name)
	}
	objs, err := objects(s, name)
	if err != nil {
		t.Fatal(err)
	}
	rel := Release{Name: name, App: s.App, Image: s.Image, Version: s.Version, Who: s.Who, CreatedAt: at}
	sec, err := encodeRecord(rel, objs)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Name != "goship-release-hello-"+name || sec.Labels[labelApp] != "hello" || sec.Type != releaseSecretType {
		t.Errorf("record %s %v %s", sec.Name, sec.Labels, sec.Type)
	}
	back, err := decodeRecord(sec)
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != rel.Name || back.Image != rel.Image || !back.CreatedAt.Equal(at) || len(back.objects) != len(objs) {
		t.Fatalf("round trip: %+v", back)
	}
	d := typedDeployment(t, byKind(t, back.objects, "Deployment"))
	if d.Spec.Template.Spec.Containers[0].Image != s.Image || *d.Spec.Replicas != 2 {
		t.Errorf("recorded Deployment lost its image or replicas")
	}
}

func TestFormat(t *testing.T) {
	out := FormatReleases([]Release{
		{Name: "20261202140501-v2", Outcome: outcome.RolledBack, Version: "v2", Image: "r/x@sha256:2", Who: "ci"},
		{Name: "20261202130000-v1", Outcome: outcome.Succeeded, Version: "v1", Image: "r/x@sha256:1", Who: "ci", Current: true},
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "*") || strings.HasPrefix(lines[1], "*") || !strings.Contains(lines[1], "rolled-back") || !strings.Contains(lines[2], "succeeded") {
		t.Errorf("releases table:\n%s", out)
	}
	st := &State{App: "hello", Deployed: true, Image: "r/x@sha256:1", Rollout: "Current", Replicas: 2, Ready: 2, Updated: 2,
		Release: &Release{Name: "rel1", Image: "r/x@sha256:1"}, Matches: true, Pods: []PodState{{Name: "hello-1", Ready: true, Phase: "Running"}}}
	if got := FormatStatus(st); !strings.HasPrefix(got, "OK: release rel1") || !strings.Contains(got, "2/2 ready") {
		t.Errorf("status:\n%s", got)
	}
	st.Matches = false
	if got := FormatStatus(st); !strings.HasPrefix(got, "DRIFT") {
		t.Errorf("drift status:\n%s", got)
	}
	st.Ready = 0
	if got := FormatStatus(st); !strings.HasPrefix(got, "DOWN") {
		t.Errorf("down status:\n%s", got)
	}
	if got := FormatStatus(&State{App: "hello", Namespace: "ns"}); !strings.HasPrefix(got, "NOT DEPLOYED") {
		t.Errorf("absent status:\n%s", got)
	}
}
