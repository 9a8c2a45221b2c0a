package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// TestClusterQuotaRefusalNamedInSeconds: a ResourceQuota with room for
// the two pods of v1 and none for v2's extra pod ends v2's gate in under
// 10 s (not its 90 s timeout), naming the quota in a typed error; v1
// keeps serving. Blue-green, which needs a whole second color, is refused
// the same way, with nothing moved.
func TestClusterQuotaRefusalNamedInSeconds(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()
	deployOK(t, c, w.spec(imgs["v1"], "v1"))
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "gs-pods"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2")}}}
	if _, err := w.admin.CoreV1().ResourceQuotas(w.ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitQuotaUsed(t, w, "gs-pods")

	for _, strategy := range []Strategy{Rolling, BlueGreen} {
		s := w.spec(imgs["v2"], "v2")
		s.Strategy = strategy
		s.Log = newLog(t)
		p := testworld.StartProber(w.serviceURL(t, "/version"))
		res, err := c.Deploy(ctx, s)
		p.Finish(t, string(strategy)+" refused by the quota", 20)
		var re *RolloutError
		if !errors.As(err, &re) || re.Kind != FailQuota || len(re.Quotas) != 1 || re.Quotas[0] != "gs-pods" || !strings.Contains(err.Error(), "gs-pods") {
			t.Fatalf("%s: err %v; want a *RolloutError of kind quota naming gs-pods", strategy, err)
		}
		if res.Took > 10*time.Second {
			t.Errorf("%s: the quota refusal took %s to end the deploy; want under 10 s", strategy, res.Took)
		}
		want := outcome.RolledBack
		if strategy == BlueGreen {
			want = outcome.Unchanged
		}
		if res.Outcome != want {
			t.Errorf("%s: outcome %s, want %s", strategy, res.Outcome, want)
		}
		t.Logf("%s: %s in %s: %v", strategy, res.Outcome, res.Took.Round(time.Millisecond), err)
		if v := servedVersion(t, w.serviceURL(t, "/version")); !strings.Contains(v, "v1") {
			t.Fatalf("%s: after the refusal the Service answers %q, want v1", strategy, v)
		}
	}
}

func waitQuotaUsed(t *testing.T, w *world, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		q, err := w.admin.CoreV1().ResourceQuotas(w.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && q.Status.Used != nil {
			return
		}
	}
	t.Fatalf("ResourceQuota %s never got its usage computed", name)
}

// TestClusterInterruptedDeploy: a run cancelled during its gate (a CI job
// cancelled) releases its Lease at once, puts the previous release's
// manifests back (rolling) or scales the new color down without moving
// traffic (blue-green), and records the release as failed; no request
// fails. A deploy killed without cleanup leaves a pending record, which
// the next deploy reports and records as failed.
func TestClusterInterruptedDeploy(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	deployOK(t, c, w.spec(imgs["v1"], "v1"))
	url := w.serviceURL(t, "/version")

	for _, strategy := range []Strategy{Rolling, BlueGreen} {
		s := w.spec(imgs["v2"], "v2")
		s.Strategy, s.Settle = strategy, 30*time.Second
		log := newLog(t)
		s.Log = log
		ctx, cancel := context.WithCancel(context.Background())
		cancelled := make(chan time.Time, 1)
		go func() {
			for !log.has("new pods ready") {
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(2 * time.Second)
			cancelled <- time.Now()
			cancel()
		}()
		p := testworld.StartProber(url)
		start := time.Now()
		res, err := c.Deploy(ctx, s)
		returned := time.Since(start)
		cancel()
		afterCancel := time.Since(<-cancelled)
		if afterCancel > cleanupTimeout {
			t.Errorf("%s: returned %s after the cancel, want within the %s cleanup bound", strategy, afterCancel, cleanupTimeout)
		}
		var ie *InterruptedError
		if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: err %v; want an *InterruptedError wrapping context.Canceled", strategy, err)
		}
		want := outcome.Failed
		if strategy == BlueGreen {
			want = outcome.Unchanged
		}
		if res.Outcome != want {
			t.Errorf("%s: outcome %s, want %s", strategy, res.Outcome, want)
		}
		if _, lerr := w.admin.CoordinationV1().Leases(w.ns).Get(context.Background(), leaseName("hello"), metav1.GetOptions{}); !apierrors.IsNotFound(lerr) {
			t.Errorf("%s: the Lease is still there after the cancelled run returned (%v)", strategy, lerr)
		}
		t.Logf("%s: cancelled run returned %s after the cancel (%s after it began): %s: %v", strategy, afterCancel.Round(time.Millisecond), returned.Round(time.Millisecond), res.Outcome, err)
		waitServes(t, url, "v1")
		p.Finish(t, string(strategy)+" cancelled mid-gate", 100)
		rels, _ := c.Releases(context.Background(), "hello")
		if rels[0].Version != "v2" || rels[0].Outcome != want {
			t.Errorf("%s: the cancelled release is recorded as %s, want %s", strategy, rels[0].Outcome, want)
		}
	}

	// A deploy killed before it could record an outcome: its record stays
	// pending. The next deploy says so and records it as failed.
	ghost := Release{Name: releaseName(time.Now(), "v9"), App: "hello", Image: imgs["v2"].String(), Version: "v9", Who: "killed", CreatedAt: time.Now().UTC()}
	if err := c.record(context.Background(), ghost); err != nil {
		t.Fatal(err)
	}
	log := newLog(t)
	s := w.spec(imgs["v2"], "v2")
	s.Log = log
	deployOK(t, c, s)
	if !log.has("release " + ghost.Name + " of hello was interrupted") {
		t.Error("the next deploy did not report the interrupted release")
	}
	rels, _ := c.Releases(context.Background(), "hello")
	for _, r := range rels {
		if r.Name == ghost.Name && r.Outcome != outcome.Failed {
			t.Errorf("the killed release is recorded as %q, want failed", r.Outcome)
		}
	}
}

// waitServes waits until url answers version (a re-applied release that
// was not waited for is rolling back).
func waitServes(t *testing.T, url, version string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if strings.Contains(servedVersion(t, url), version) {
			return
		}
	}
	t.Fatalf("%s never answered %s", url, version)
}
