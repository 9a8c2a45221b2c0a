package kube

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// TestClusterHPAKeepsReplicas: with a HorizontalPodAutoscaler on the app,
// a deploy leaves the replica count to it. First at the count goship set
// (goship hands the field over, or the API server would reset it to 1),
// then at a count the HPA chose (3, over the spec's 2). A watcher reads
// the Deployment's replicas every 100 ms during each deploy: it must never
// drop.
func TestClusterHPAKeepsReplicas(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()
	deployOK(t, c, w.spec(imgs["v1"], "v1"))

	minReplicas := int32(2)
	cpu := int32(80)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello"},
			MinReplicas:    &minReplicas, MaxReplicas: 5,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &cpu}}}},
		},
	}
	hpas := w.admin.AutoscalingV2().HorizontalPodAutoscalers(w.ns)
	if _, err := hpas.Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	deployWatched := func(version string, want int32) {
		t.Helper()
		stop := w.watchReplicas(t, "hello")
		s := w.spec(imgs[version], version)
		s.Log = newLog(t)
		deployOK(t, c, s)
		min := stop()
		if got := w.replicas(t, "hello"); got != want || min < want {
			t.Fatalf("deploy %s with an HPA at %d: replicas %d after, lowest %d during; want %d throughout", version, want, got, min, want)
		}
		t.Logf("deploy %s: replicas stayed %d (lowest seen %d)", version, want, min)
	}
	// The HPA agrees with goship's 2: goship owns the field and lets go.
	deployWatched("v2", 2)

	// The HPA wants 3: it scales, and the next deploy keeps its 3.
	three := int32(3)
	h, err := hpas.Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.Spec.MinReplicas = &three
	if _, err := hpas.Update(ctx, h, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); w.replicas(t, "hello") != 3; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("the HPA controller did not scale hello to its minimum of 3 within 90 s")
		}
	}
	deployWatched("v1", 3)
}

// watchReplicas polls Deployment name's spec.replicas until stop, which
// returns the lowest value seen.
func (w *world) watchReplicas(t *testing.T, name string) func() int32 {
	var mu sync.Mutex
	lowest := w.replicas(t, name)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			d, err := w.admin.AppsV1().Deployments(w.ns).Get(context.Background(), name, metav1.GetOptions{})
			if err == nil && d.Spec.Replicas != nil {
				mu.Lock()
				lowest = min(lowest, *d.Spec.Replicas)
				mu.Unlock()
			}
		}
	}()
	return func() int32 {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return lowest
	}
}

// TestClusterPolicyMemory: once the namespace took a verified release, an
// unverified deploy or rollback there is refused with *PolicyError naming
// the policy, and nothing is applied; an explicit opt-out deploys, and is
// logged and recorded.
func TestClusterPolicyMemory(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()

	// Before any verified release, an unverified deploy goes through.
	deployOK(t, c, w.spec(imgs["v1"], "v1"))
	s := w.spec(imgs["v2"], "v2")
	s.Policy = Policy{Verified: true, Name: "cosign key sha256:test"}
	deployOK(t, c, s)
	held, err := c.HeldPolicy(ctx)
	if err != nil || held == nil || held.Policy != "cosign key sha256:test" || !strings.HasSuffix(held.Since, "-v2") {
		t.Fatalf("the namespace holds %+v (%v), want the policy of release v2", held, err)
	}

	before, _ := c.Releases(ctx, "hello")
	res, err := c.Deploy(ctx, w.spec(imgs["v1"], "v1-again"))
	var pe *PolicyError
	if !errors.As(err, &pe) || pe.Policy != "cosign key sha256:test" || res.Outcome != outcome.Unchanged {
		t.Fatalf("unverified deploy: outcome %s, err %v; want *PolicyError naming the policy", res.Outcome, err)
	}
	t.Logf("refused: %v", err)
	_, err = c.Rollback(ctx, RollbackSpec{App: "hello", Settle: 3 * time.Second})
	if !errors.As(err, &pe) {
		t.Fatalf("unverified rollback: %v; want *PolicyError", err)
	}
	after, _ := c.Releases(ctx, "hello")
	if FormatReleases(after) != FormatReleases(before) {
		t.Fatalf("a refused run changed the releases:\n%s\n%s", FormatReleases(before), FormatReleases(after))
	}

	log := newLog(t)
	s = w.spec(imgs["v1"], "v1-hotfix")
	s.Policy, s.Log = Policy{OptOut: "hotfix INC-42, signing service down"}, log
	res = deployOK(t, c, s)
	if !log.has("POLICY OPT-OUT") || !log.has("INC-42") {
		t.Error("the opt-out was not logged")
	}
	held, _ = c.HeldPolicy(ctx)
	if n := len(held.OptOuts); n != 1 || held.OptOuts[0].Release != res.Release.Name || held.OptOuts[0].Reason != s.Policy.OptOut {
		t.Errorf("opt-outs recorded: %+v", held.OptOuts)
	}
	if res.Release.OptOut != s.Policy.OptOut {
		t.Errorf("the release record does not carry the opt-out: %+v", res.Release)
	}

	// A verified rollback goes through.
	verified := 0
	res, err = c.Rollback(ctx, RollbackSpec{App: "hello", Settle: 3 * time.Second, Policy: Policy{Verified: true, Name: "cosign key sha256:test"},
		Verify: func(context.Context, string) error { verified++; return nil }})
	if err != nil || res.Outcome != outcome.Succeeded || verified != 1 {
		t.Fatalf("verified rollback: %s, %v (verified %d times)", res.Outcome, err, verified)
	}
}
