package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// nothingApplied fails t if goship left any trace in the namespace.
func (w *world) nothingApplied(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	deps, err := w.admin.AppsV1().Deployments(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secs, err := w.admin.CoreV1().Secrets(w.ns).List(ctx, metav1.ListOptions{LabelSelector: labelApp})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := w.admin.CoreV1().Services(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leases, err := w.admin.CoordinationV1().Leases(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(deps.Items) + len(secs.Items) + len(svcs.Items) + len(leases.Items); n > 0 {
		t.Fatalf("%d objects were created (deployments %d, goship secrets %d, services %d, leases %d); want none", n, len(deps.Items), len(secs.Items), len(svcs.Items), len(leases.Items))
	}
}

// TestClusterRefusedBeforeApply: a bad kubeconfig, an unknown namespace,
// a tag instead of a digest and an image missing from the registry each
// fail with a clear error, and nothing reaches the cluster.
func TestClusterRefusedBeforeApply(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	ctx := context.Background()

	if _, err := Connect(ctx, []byte("apiVersion: v1\nclusters: [oops"), "", w.ns); err == nil || !strings.Contains(err.Error(), "parsing kubeconfig") {
		t.Errorf("bad kubeconfig: %v", err)
	}
	if _, err := Connect(ctx, w.kubeconfig, "", w.ns+"-absent"); err == nil || !strings.Contains(err.Error(), `namespace "`+w.ns+`-absent" not found on `) || !strings.Contains(err.Error(), "create it or pass --namespace") {
		t.Errorf("unknown namespace: %v", err)
	}

	c := w.connect(t)
	tagged := w.spec(imgs["v1"], "v1")
	tagged.Image = w.registry + "/goship/kube-hello:v1"
	res, err := c.Deploy(ctx, tagged)
	if err == nil || res.Outcome != "unchanged" || !strings.Contains(err.Error(), "not pinned by digest") {
		t.Errorf("tag: outcome %s, err %v", res.Outcome, err)
	}

	missing := w.spec(imgs["v1"], "v9")
	missing.Image = imgs["v1"].Context().Digest("sha256:" + strings.Repeat("ab", 32)).String()
	res, err = c.Deploy(ctx, missing)
	if err == nil || res.Outcome != "unchanged" || !strings.Contains(err.Error(), "is not in the registry") {
		t.Errorf("missing image: outcome %s, err %v", res.Outcome, err)
	}
	t.Logf("missing image: %v", err)
	w.nothingApplied(t)
}

// TestClusterMissingImagePulled: when the image check is skipped (a
// registry only the cluster reaches), the cluster's failed pull ends the
// gate at once, named, and the previous release is restored.
func TestClusterMissingImagePulled(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	deployOK(t, c, w.spec(imgs["v1"], "v1"))
	missing := w.spec(imgs["v1"], "v9")
	missing.Image = imgs["v1"].Context().Digest("sha256:" + strings.Repeat("cd", 32)).String()
	missing.SkipImageCheck = true
	p := testworld.StartProber(w.serviceURL(t, "/version"))
	res, err := c.Deploy(context.Background(), missing)
	p.Finish(t, "missing image and its rollback", 20)
	if res.Outcome != "rolled-back" || err == nil || !strings.Contains(err.Error(), "ImagePull") {
		t.Fatalf("missing image: outcome %s, err %v", res.Outcome, err)
	}
	if res.Took > 45*time.Second {
		t.Errorf("the failed pull took %s to surface; want it prompt, not the %s timeout", res.Took, missing.Timeout)
	}
	t.Logf("missing image pulled by the cluster: %s in %s: %v", res.Outcome, res.Took.Round(time.Millisecond), err)
}

// TestClusterLock: a second deploy is refused naming the lease holder,
// waits for a lease that is released, and takes over an expired one.
func TestClusterLock(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()

	_, unlock, err := c.lock(ctx, "hello", "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	s := w.spec(imgs["v1"], "v1")
	s.LockWait = 2 * time.Second
	start := time.Now()
	res, err := c.Deploy(ctx, s)
	if err == nil || res.Outcome != "unchanged" || !strings.Contains(err.Error(), "being deployed by alice/") {
		t.Fatalf("deploy under another's lock: outcome %s, err %v", res.Outcome, err)
	}
	if waited := time.Since(start); waited < s.LockWait {
		t.Errorf("refused after %s, want it to wait %s", waited, s.LockWait)
	}
	t.Logf("refused: %v", err)

	go func() { time.Sleep(2 * time.Second); unlock() }()
	s.LockWait = time.Minute
	deployOK(t, c, s)

	// A crashed deploy: its lease was last renewed long ago.
	old := metav1.NewMicroTime(time.Now().Add(-2 * leaseDuration))
	secs, holder := int32(leaseDuration.Seconds()), "crashed/1234"
	if _, err := w.admin.CoordinationV1().Leases(w.ns).Create(ctx, &coordv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: leaseName("hello")},
		Spec:       coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &old, RenewTime: &old},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.LockWait = 0
	deployOK(t, c, w.spec(imgs["v2"], "v2"))
}
