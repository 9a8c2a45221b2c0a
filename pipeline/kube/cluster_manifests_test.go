package kube

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const userApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: 1
  selector: {matchLabels: {app: hello-own}}
  template:
    metadata: {labels: {app: hello-own}}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 65532}
      containers:
      - name: hello
        image: placeholder
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: hello-own}
spec:
  selector: {app: hello-own}
  ports: [{port: 8080}]
`

// TestClusterUserManifests: the user's own manifests are applied with the
// app's image pinned by digest, and gated like generated ones.
func TestClusterUserManifests(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	s := w.spec(imgs["v1"], "v1")
	s.Manifests = map[string][]byte{
		"app.yaml":    []byte(userApp),
		"config.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello-config}\ndata: {mode: test}\n"),
	}
	deployOK(t, c, s)
	ctx := context.Background()
	dep, err := w.admin.AppsV1().Deployments(w.ns).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != imgs["v1"].String() {
		t.Fatalf("live image %s, want it pinned to %s", got, imgs["v1"])
	}
	if len(dep.Spec.Template.Spec.Containers[0].EnvFrom) != 1 {
		t.Errorf("the .env Secret is not wired into the user's container")
	}
	if _, err := w.admin.CoreV1().ConfigMaps(w.ns).Get(ctx, "hello-config", metav1.GetOptions{}); err != nil {
		t.Errorf("the user's ConfigMap was not applied: %v", err)
	}
	st, err := c.Status(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatStatus(st); !strings.HasPrefix(got, "OK") {
		t.Errorf("status:\n%s", got)
	}
}
