package kube

import (
	"context"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// TestClusterUnchangedRedeployWritesNothing: a redeploy of the live
// release makes no write request (counted on the wire: every request but
// reads and server-side dry runs), restarts no pod and says unchanged. A
// changed release does write: the count can fail.
func TestClusterUnchangedRedeployWritesNothing(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	wc := &writeCounter{}
	c := w.connect(t, WithTransport(wc.wrap))
	ctx := context.Background()
	s := w.spec(imgs["v1"], "v1")
	s.Ingress = &Ingress{Host: "hello.example.com"}
	deployOK(t, c, s)
	before := w.podUIDs(t)

	log := newLog(t)
	s.Log = log
	wc.start()
	res, err := c.Deploy(ctx, s)
	n, writes := wc.count()
	if err != nil || res.Outcome != outcome.Unchanged || n != 0 || res.Changes.Writes() != 0 {
		t.Fatalf("redeploy: outcome %s, err %v, %d write requests %v, change set %s; want unchanged and 0 writes", res.Outcome, err, n, writes, res.Changes)
	}
	if !log.has("unchanged: release " + res.Release.Name) {
		t.Error("the log does not say unchanged")
	}
	if after := w.podUIDs(t); after != before {
		t.Errorf("pods changed:\nbefore %s\nafter  %s", before, after)
	}
	rels, err := c.Releases(ctx, "hello")
	if err != nil || len(rels) != 1 {
		t.Fatalf("releases after the unchanged redeploy: %d, %v; want the one", len(rels), err)
	}
	t.Logf("unchanged redeploy: %d write requests; %d objects compared: %s", n, len(res.Changes), res.Changes)

	// The same image with one more replica is a new release: it writes.
	s.Replicas = 3
	wc.start()
	deployOK(t, c, s)
	if n, _ := wc.count(); n == 0 {
		t.Fatal("a changed release made no write: the counter counts nothing")
	}
}

// TestClusterPrunesDroppedConfigMap: what a release drops from the
// manifests is deleted once the next release is live; an object goship
// did not create (it existed before goship applied it) and one it never
// applied are left alone.
func TestClusterPrunesDroppedConfigMap(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()
	cms := w.admin.CoreV1().ConfigMaps(w.ns)
	for _, n := range []string{"adopted", "bystander"} {
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: n}, Data: map[string]string{"by": "kubectl"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cm := func(n string) string {
		return "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + n + "}\ndata: {by: goship}\n"
	}
	s := w.spec(imgs["v1"], "v1")
	s.Manifests = map[string][]byte{"app.yaml": []byte(userApp), "config.yaml": []byte(cm("keep") + cm("dropped") + cm("adopted"))}
	deployOK(t, c, s)

	s = w.spec(imgs["v2"], "v2")
	s.Manifests = map[string][]byte{"app.yaml": []byte(userApp), "config.yaml": []byte(cm("keep"))}
	res := deployOK(t, c, s)
	pruned := []string{}
	for _, ch := range res.Changes {
		if ch.Action == ActionDeleted {
			pruned = append(pruned, ch.Kind+"/"+ch.Name)
		}
	}
	if strings.Join(pruned, ",") != "ConfigMap/dropped" {
		t.Errorf("pruned %v, want only ConfigMap/dropped", pruned)
	}
	if _, err := cms.Get(ctx, "dropped", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dropped ConfigMap is still there (err %v)", err)
	}
	for _, n := range []string{"keep", "adopted", "bystander"} {
		if _, err := cms.Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Errorf("ConfigMap %s: %v; it must stay", n, err)
		}
	}
}

// TestClusterKustomizeOverlay: a kustomize overlay (replicas patch,
// generated ConfigMap, common labels, a CronJob pinned by digest with the
// images transformer) deploys and gates like plain manifests.
func TestClusterKustomizeOverlay(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()
	s := w.spec(imgs["v1"], "v1")
	s.Manifests, s.Kustomize = overlay("placeholder"), "overlays/test"
	res := deployOK(t, c, s)
	dep, err := w.admin.AppsV1().Deployments(w.ns).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 || dep.Status.ReadyReplicas != 2 || dep.Labels["team"] != "shop" || dep.Spec.Template.Spec.Containers[0].Image != imgs["v1"].String() {
		t.Errorf("Deployment: replicas %d (%d ready), labels %v, image %s", *dep.Spec.Replicas, dep.Status.ReadyReplicas, dep.Labels, dep.Spec.Template.Spec.Containers[0].Image)
	}
	cj, err := w.admin.BatchV1().CronJobs(w.ns).Get(ctx, "report", metav1.GetOptions{})
	if err != nil || cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != jobDigest {
		t.Fatalf("CronJob report: %v (image pinned by the overlay: %s)", err, jobDigest)
	}
	generated := ""
	for _, ch := range res.Changes {
		if ch.Kind == "ConfigMap" && strings.HasPrefix(ch.Name, "hello-settings-") {
			generated = ch.Name
		}
	}
	if _, err := w.admin.CoreV1().ConfigMaps(w.ns).Get(ctx, generated, metav1.GetOptions{}); generated == "" || err != nil {
		t.Errorf("generated ConfigMap %q: %v", generated, err)
	}
	if _, err := w.admin.PolicyV1().PodDisruptionBudgets(w.ns).Get(ctx, "hello", metav1.GetOptions{}); err != nil {
		t.Errorf("PodDisruptionBudget for the overlay's 2 replicas: %v", err)
	}
}

// TestClusterIngressAndPDBShape: the API server takes goship's Ingress
// (ingressClassName, host, TLS secret, controller annotations) and
// PodDisruptionBudget as they are, by server-side dry run: there is no
// ingress controller here, so no traffic goes through them.
func TestClusterIngressAndPDBShape(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()
	s := w.spec(imgs["v1"], "v1")
	s.Replicas = 3
	s.Ingress = &Ingress{Class: "alb", Host: "shop.example.com", Path: "/api", TLSSecret: "shop-tls",
		Annotations: map[string]string{"alb.ingress.kubernetes.io/healthcheck-path": "/healthz"}}
	objs, err := objects(s.withDefaults(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, o := range objs {
		if o.GetKind() != "Ingress" && o.GetKind() != "PodDisruptionBudget" {
			continue
		}
		seen++
		r, err := c.resource(o)
		if err != nil {
			t.Fatal(err)
		}
		o.SetNamespace(w.ns)
		got, err := r.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: fieldManager, DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			t.Fatalf("the API server refuses %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		switch o.GetKind() {
		case "Ingress":
			host, _, _ := unstructuredString(got.Object, "spec", "rules", "0", "host")
			class, _, _ := unstructuredString(got.Object, "spec", "ingressClassName")
			secret, _, _ := unstructuredString(got.Object, "spec", "tls", "0", "secretName")
			pathType, _, _ := unstructuredString(got.Object, "spec", "rules", "0", "http", "paths", "0", "pathType")
			if host != "shop.example.com" || class != "alb" || secret != "shop-tls" || pathType != "Prefix" || got.GetAnnotations()["alb.ingress.kubernetes.io/healthcheck-path"] != "/healthz" {
				t.Errorf("Ingress as the server took it: host %q class %q secret %q pathType %q annotations %v", host, class, secret, pathType, got.GetAnnotations())
			}
		case "PodDisruptionBudget":
			mu, _, _ := unstructuredString(got.Object, "spec", "maxUnavailable")
			if mu != "1" {
				t.Errorf("PodDisruptionBudget maxUnavailable %q", mu)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("%d of Ingress and PodDisruptionBudget generated, want both", seen)
	}
	// A dry run persists nothing.
	if _, err := w.admin.NetworkingV1().Ingresses(w.ns).Get(ctx, "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run left an Ingress: %v", err)
	}
	// And a real deploy carries them, gated like the rest.
	deployOK(t, c, s)
	if _, err := w.admin.NetworkingV1().Ingresses(w.ns).Get(ctx, "hello", metav1.GetOptions{}); err != nil {
		t.Errorf("Ingress after deploy: %v", err)
	}
}

// unstructuredString reads a string (or an int, as text) at a path whose
// numeric elements index lists.
func unstructuredString(obj map[string]any, path ...string) (string, bool, error) {
	var cur any = obj
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(v) {
				return "", false, nil
			}
			cur = v[i]
		default:
			return "", false, nil
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true, nil
	case int64:
		return strconv.FormatInt(v, 10), true, nil
	}
	return "", false, nil
}
