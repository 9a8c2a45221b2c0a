package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// appWithSecret is the user's Deployment with its env from a Secret that
// goship does not manage.
func appWithSecret(secret string) string {
	return strings.Replace(userApp, "        ports: [{containerPort: 8080}]\n",
		"        ports: [{containerPort: 8080}]\n        envFrom: [{secretRef: {name: "+secret+"}}]\n", 1)
}

// TestClusterConfigErrorWaitsForTheKubelet: CreateContainerConfigError is
// what the kubelet says both for a Secret that is missing and for one it
// has not synced yet (on a busy node, a release's new env Secret), and it
// retries either way. A Secret that appears seconds after the deploy
// started does not fail the gate; one that never comes fails it after
// configErrorGrace, named, well before the gate's timeout, and the
// previous release keeps serving.
func TestClusterConfigErrorWaitsForTheKubelet(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()

	late := w.spec(imgs["v1"], "v1")
	late.Manifests = map[string][]byte{"app.yaml": []byte(appWithSecret("hello-late"))}
	lateLog := newLog(t)
	late.Log = lateLog
	created := make(chan error, 1)
	go func() {
		time.Sleep(3 * time.Second)
		_, err := w.admin.CoreV1().Secrets(w.ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "hello-late"}, StringData: map[string]string{"LATE": "1"}}, metav1.CreateOptions{})
		created <- err
	}()
	res := deployOK(t, c, late)
	if err := <-created; err != nil {
		t.Fatal(err)
	}
	if !lateLog.has("hello-late") { // the kubelet's event: secret "hello-late" not found
		t.Fatalf("the pods never waited for the Secret, so this test cannot tell (took %s)", res.Took)
	}

	never := w.spec(imgs["v2"], "v2")
	never.Manifests = map[string][]byte{"app.yaml": []byte(appWithSecret("hello-never"))}
	never.Log = newLog(t)
	start := time.Now()
	res, err := c.Deploy(ctx, never)
	took := time.Since(start)
	var re *RolloutError
	if res.Outcome != outcome.RolledBack || !errors.As(err, &re) || re.Reason != "CreateContainerConfigError" {
		t.Fatalf("a Secret that never comes: outcome %s, err %v; want rolled-back, CreateContainerConfigError", res.Outcome, err)
	}
	if took < configErrorGrace || took > never.Timeout {
		t.Errorf("a Secret that never comes failed the gate after %s; want between %s and the %s timeout", took.Round(time.Second), configErrorGrace, never.Timeout)
	}
	if !strings.Contains(err.Error(), "hello-never") {
		t.Errorf("the error does not name the Secret: %v", err)
	}
	t.Logf("a Secret that never comes: %s after %s: %v", res.Outcome, took.Round(time.Millisecond), err)
}
