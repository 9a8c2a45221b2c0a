package kube

import (
	"errors"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

const jobDigest = "127.0.0.1:5001/goship/report@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// overlay is a kustomize base (the app and a CronJob) and an overlay that
// changes replicas, generates a ConfigMap and pins the CronJob's image
// by digest with kustomize's images transformer.
func overlay(appImage string) map[string][]byte {
	return map[string][]byte{
		"base/kustomization.yaml": []byte("resources: [app.yaml, job.yaml]\n"),
		"base/app.yaml": []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 1
  selector: {matchLabels: {app: hello-k}}
  template:
    metadata: {labels: {app: hello-k}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532}
      containers:
      - name: hello
        image: ` + appImage + `
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello-k}
  ports: [{port: 80, targetPort: 8080}]
`),
		"base/job.yaml": []byte(`apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          initContainers: [{name: wait, image: 127.0.0.1:5001/goship/report:v1}]
          containers: [{name: report, image: 127.0.0.1:5001/goship/report:v1}]
`),
		"overlays/test/kustomization.yaml": []byte(`resources: [../../base]
labels:
- pairs: {team: shop}
replicas:
- {name: hello, count: 2}
configMapGenerator:
- name: hello-settings
  literals: [MODE=test]
images:
- name: 127.0.0.1:5001/goship/report
  digest: sha256:1111111111111111111111111111111111111111111111111111111111111111
`),
	}
}

func TestKustomizeOverlay(t *testing.T) {
	s := validSpec()
	s.Manifests, s.Kustomize = overlay("placeholder"), "overlays/test"
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	objs, err := objects(s.withDefaults(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	d := typedDeployment(t, byKind(t, objs, "Deployment"))
	if *d.Spec.Replicas != 2 || d.Labels["team"] != "shop" || d.Spec.Template.Spec.Containers[0].Image != testDigest {
		t.Errorf("overlay not applied or image not pinned: replicas %d, labels %v, image %s", *d.Spec.Replicas, d.Labels, d.Spec.Template.Spec.Containers[0].Image)
	}
	cm := byKind(t, objs, "ConfigMap")
	if !strings.HasPrefix(cm.GetName(), "hello-settings-") {
		t.Errorf("generated ConfigMap %s", cm.GetName())
	}
	if byKind(t, objs, "PodDisruptionBudget") == nil {
		t.Error("2 replicas after the overlay, but no PodDisruptionBudget")
	}

	imgs, err := Images(s)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, i := range imgs {
		got[i.where()] = i.Image
	}
	want := map[string]string{
		"Deployment hello, container hello":   testDigest,
		"CronJob report, init container wait": jobDigest,
		"CronJob report, container report":    jobDigest,
	}
	if len(got) != len(want) {
		t.Fatalf("images %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s runs %q, want %q", k, got[k], v)
		}
	}
	// Under a policy, an image left on a tag is refused, named.
	s.Manifests["overlays/test/kustomization.yaml"] = []byte("resources: [../../base]\n")
	s.Policy = Policy{Verified: true, Name: "cosign key test"}
	var ue *UnpinnedImageError
	if err := s.Validate(); !errors.As(err, &ue) || ue.Object != "CronJob report, init container wait" {
		t.Fatalf("policy with a tagged CronJob image: %v, want *UnpinnedImageError naming it", err)
	}
}

func TestExtrasShape(t *testing.T) {
	s := validSpec()
	s.Replicas = 3
	s.Ingress = &Ingress{Class: "alb", Host: "shop.example.com", TLSSecret: "shop-tls", Annotations: map[string]string{"alb.ingress.kubernetes.io/healthcheck-path": "/healthz"}}
	objs, err := objects(s.withDefaults(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	var pdb policyv1.PodDisruptionBudget
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(byKind(t, objs, "PodDisruptionBudget").Object, &pdb); err != nil {
		t.Fatal(err)
	}
	if pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels[labelName] != "hello" {
		t.Errorf("pdb %+v", pdb.Spec)
	}
	var ing networkingv1.Ingress
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(byKind(t, objs, "Ingress").Object, &ing); err != nil {
		t.Fatal(err)
	}
	b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if *ing.Spec.IngressClassName != "alb" || ing.Spec.Rules[0].Host != "shop.example.com" || ing.Spec.TLS[0].SecretName != "shop-tls" || b.Name != "hello" || b.Port.Number != 80 {
		t.Errorf("ingress %+v", ing.Spec)
	}
	s.Replicas, s.Ingress = 1, nil
	objs, _ = objects(s.withDefaults(), "r1")
	for _, o := range objs {
		if o.GetKind() == "PodDisruptionBudget" {
			t.Error("a PodDisruptionBudget for one replica would block every node drain")
		}
	}
	s.Replicas, s.NoDisruptionBudget = 3, true
	objs, _ = objects(s.withDefaults(), "r1")
	if hasKind(objs, "PodDisruptionBudget") {
		t.Error("NoDisruptionBudget ignored")
	}
}

func TestColorize(t *testing.T) {
	s := validSpec().withDefaults()
	objs, err := objects(s, "r1")
	if err != nil {
		t.Fatal(err)
	}
	col, err := colorize(objs, "hello", colorGreen)
	if err != nil {
		t.Fatal(err)
	}
	d := typedDeployment(t, byKind(t, col.objs, "Deployment"))
	if d.Name != "hello-green" || d.Spec.Selector.MatchLabels[labelColor] != colorGreen || d.Spec.Template.Labels[labelColor] != colorGreen {
		t.Errorf("color Deployment %s selector %v labels %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	if len(col.live) != 1 || col.live[0].GetName() != "hello" {
		t.Fatalf("live services %v", col.live)
	}
	if sel, _, _ := unstructured.NestedStringMap(col.live[0].Object, "spec", "selector"); sel[labelColor] != colorGreen || sel[labelName] != "hello" {
		t.Errorf("live selector %v", sel)
	}
	if sel, _, _ := unstructured.NestedStringMap(col.preview.Object, "spec", "selector"); col.preview.GetName() != "hello-preview" || sel[labelColor] != colorGreen {
		t.Errorf("preview %s selector %v", col.preview.GetName(), sel)
	}
	for _, o := range col.objs {
		if o.GetKind() == "Service" && o.GetName() == "hello" {
			t.Error("the live Service must wait for the switch, not be applied with the new color")
		}
	}
	if pdb := byKind(t, col.objs, "PodDisruptionBudget"); pdb != nil {
		if sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels"); sel[labelColor] != "" {
			t.Errorf("the PodDisruptionBudget should span both colors: %v", sel)
		}
	}
}

func TestClassifyRefusal(t *testing.T) {
	for _, c := range []struct {
		msg     string
		kind    FailureKind
		certain bool
	}{
		{`pods "hello-5d8-x" is forbidden: exceeded quota: gs-pods, requested: pods=1, used: pods=2, limited: pods=2`, FailQuota, true},
		{`pods "hello-5d8-x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`, FailPodSecurity, true},
		{`admission webhook "validate.kyverno.svc" denied the request: image not signed`, FailAdmission, true},
		{`pods "hello-5d8-x" is forbidden: maximum memory usage per Container is 32Mi, but limit is 64Mi`, FailAdmission, true},
		{`etcdserver: request timed out`, "", false},
	} {
		kind, certain := classifyRefusal(c.msg)
		if kind != c.kind || certain != c.certain {
			t.Errorf("%s: %s %v, want %s %v", c.msg, kind, certain, c.kind, c.certain)
		}
	}
}

func TestDrifted(t *testing.T) {
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "x", "resourceVersion": "7", "labels": map[string]any{"a": "1"}, "managedFields": []any{}},
		"data":     map[string]any{"k": "v"},
	}}
	dry := live.DeepCopy()
	unstructured.RemoveNestedField(dry.Object, "metadata", "managedFields")
	if drifted(live, dry) {
		t.Error("metadata bookkeeping counted as drift")
	}
	_ = unstructured.SetNestedField(dry.Object, "w", "data", "k")
	if !drifted(live, dry) {
		t.Error("a changed value not seen")
	}
	dry = live.DeepCopy()
	dry.SetLabels(map[string]string{"a": "2"})
	if !drifted(live, dry) {
		t.Error("a changed label not seen")
	}
}

func TestChangeSetWrites(t *testing.T) {
	cs := ChangeSet{{Kind: "Deployment", Name: "a", Action: ActionUnchanged}, {Kind: "ConfigMap", Name: "b", Action: ActionDeleted}, {Kind: "Service", Name: "c", Action: ActionSwitched}}
	if cs.Writes() != 2 || cs.String() != "Deployment/a unchanged, ConfigMap/b deleted, Service/c switched" {
		t.Errorf("%d %s", cs.Writes(), cs)
	}
}
