package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Result is how a Deploy or Rollback ended; Outcome is set even with an
// error.
type Result struct {
	Outcome outcome.Outcome
	// Release is the release deployed or rolled back to (for an unchanged
	// redeploy: the live release); RolledBackTo the one restored after it
	// failed ("" if none).
	Release      Release
	RolledBackTo string
	// Strategy is how the release went live; Color the blue-green color
	// it runs as.
	Strategy Strategy
	Color    string
	// Changes is what the run did to the cluster, object by object:
	// applied (created, configured, unchanged), scaled, switched, pruned.
	// An unchanged redeploy has no writes (Changes.Writes() == 0).
	Changes ChangeSet
	Took    time.Duration
}

// Deploy applies s as a new release of s.App with s.Strategy and gates
// it. When the gate fails, what served before serves again: blue-green
// never moved traffic (Unchanged) or switches back, rolling re-applies
// the previous healthy release (RolledBack). Nothing is applied when s
// is invalid, the namespace's policy refuses it, the image is missing,
// the server refuses the manifests in a dry run, or the lock is held. A
// redeploy of the live release writes nothing and returns Unchanged with
// a nil error.
func (c *Cluster) Deploy(ctx context.Context, s Spec) (Result, error) {
	start := time.Now()
	res := Result{Outcome: outcome.Unchanged}
	if err := s.Validate(); err != nil {
		return res, err
	}
	s = s.withDefaults()
	res.Strategy = s.Strategy
	log := newProgress(s.Log)
	st, err := strategyFor(s.Strategy)
	if err != nil {
		return res, err
	}
	rel := Release{Name: releaseName(start, s.Version), App: s.App, Image: s.Image, Version: s.Version, Commit: s.Commit, Who: s.Who, CreatedAt: start.UTC(), Strategy: s.Strategy, OptOut: s.Policy.OptOut}
	if s.Policy.Verified {
		rel.Policy = s.Policy.Name
	}
	if rel.objects, err = objects(s, rel.Name); err != nil {
		return res, err
	}
	res.Release = rel
	held, err := c.HeldPolicy(ctx)
	if err != nil {
		return res, err
	}
	if err := c.checkPolicy(held, s.Policy); err != nil {
		return res, err
	}
	if !s.SkipImageCheck {
		if err := checkImage(ctx, s, log); err != nil {
			return res, err
		}
	}
	pre, err := pullSecrets(s, log)
	if err != nil {
		return res, err
	}
	if same, err := c.unchanged(ctx, s, st, pre, held, log, &res); err != nil || same {
		res.Took = time.Since(start)
		return res, err
	}
	ctx, unlock, err := c.lock(ctx, s.App, s.Who, s.LockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	rels, err := c.Releases(ctx, s.App)
	if err != nil {
		return res, err
	}
	c.settleInterrupted(ctx, rels, log)
	// A deploy that follows another within the same second (a retry after
	// a refusal) would reuse its name: take the next free second, so names
	// stay unique and in order.
	if name := freeReleaseName(start, s.Version, rels); name != rel.Name {
		rel.Name = name
		if rel.objects, err = objects(s, rel.Name); err != nil {
			return res, err
		}
		res.Release = rel
	}
	if _, err := c.diffAll(ctx, append(append([]*unstructured.Unstructured(nil), pre...), rel.objects...)); err != nil {
		return res, err
	}
	if err := c.noteOptOut(ctx, held, s.Policy, s.App, rel.Name, s.Who, log); err != nil {
		return res, err
	}
	if err := c.record(ctx, rel); err != nil {
		return res, err
	}
	r := &rollout{app: s.App, rel: &rel, timeout: s.Timeout, settle: s.Settle, drain: s.Drain, pre: pre, log: log, start: start}
	if prev, err := restoreTarget(rels); err == nil {
		r.prev = prev
	}
	if r.inv, err = c.readInventory(ctx, s.App); err != nil {
		return res, err
	}
	log.printf("deploying release %s of %s (%s, %s) to namespace %s", rel.Name, s.App, s.Image, s.Strategy, c.namespace)
	out, gerr := st.goLive(ctx, c, r)
	res.Outcome, res.Color, res.Changes = out, r.color, r.changes
	rel.Color = r.color
	if r.prev != nil && out == outcome.RolledBack {
		res.RolledBackTo = r.prev.Name
	}
	// Record and tidy up even when the caller gave up, briefly.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*cleanupTimeout)
	defer cancel()
	if merr := c.mark(bg, &rel, out, gerr); merr != nil {
		gerr = errors.Join(gerr, merr)
	}
	res.Release = rel
	if out == outcome.Succeeded {
		cs, perr := c.prune(bg, s.App, r.inv, r.keep)
		res.Changes = append(res.Changes, cs...)
		for _, ch := range cs {
			log.printf("pruned %s %s: release %s dropped it", ch.Kind, ch.Name, rel.Name)
		}
		gerr = errors.Join(gerr, perr, c.writeInventory(bg, s.App, r.inv), c.rememberPolicy(bg, held, s.Policy, s.App, rel.Name), c.pruneRecords(bg, s.App, s.Keep))
		if gerr != nil {
			gerr = fmt.Errorf("release %s is live, but: %w", rel.Name, gerr)
		} else {
			log.printf("release %s of %s is live (%s)", rel.Name, s.App, took(start))
		}
	} else if werr := c.writeInventory(bg, s.App, r.inv); werr != nil {
		gerr = errors.Join(gerr, werr)
	}
	res.Took = time.Since(start)
	return res, gerr
}

func took(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }

// unchanged: the live release is this one (same image, version and
// commit), every object it would apply is unchanged (server-side dry
// run), the inventory holds nothing to prune and no deploy runs. Then
// nothing is written: no lease, no record, no apply.
func (c *Cluster) unchanged(ctx context.Context, s Spec, how strategy, pre []*unstructured.Unstructured, held *HeldPolicy, log *progress, res *Result) (bool, error) {
	rels, err := c.Releases(ctx, s.App)
	if err != nil {
		return false, err
	}
	var cur *Release
	for i := range rels {
		if rels[i].Current {
			cur = &rels[i]
		}
	}
	if cur == nil || !cur.Healthy() || cur.Image != s.Image || cur.Version != s.Version || cur.Commit != s.Commit || cur.Strategy != s.Strategy {
		return false, nil
	}
	if busy, err := c.lockHeld(ctx, s.App); err != nil || busy {
		return false, err
	}
	again := s
	again.Who = cur.Who
	objs, err := objects(again, cur.Name)
	if err != nil {
		return false, err
	}
	r := &rollout{app: s.App, rel: &Release{Name: cur.Name, objects: objs}, pre: pre, log: log, probe: true}
	apply, keep, err := how.plan(ctx, c, r)
	if err != nil || apply == nil {
		return false, err
	}
	cs, err := c.diffAll(ctx, apply)
	if err != nil || cs.Writes() > 0 {
		return false, err
	}
	inv, err := c.readInventory(ctx, s.App)
	if err != nil {
		return false, err
	}
	want := map[string]bool{}
	for _, o := range keep {
		want[objID(o)] = true
	}
	for id := range inv.entries {
		if !want[id] {
			return false, nil // something to prune
		}
	}
	if err := c.rememberPolicy(ctx, held, s.Policy, s.App, cur.Name); err != nil {
		return false, err
	}
	res.Outcome, res.Release, res.Changes, res.Color = outcome.Unchanged, *cur, cs, cur.Color
	log.printf("unchanged: release %s of %s already runs %s; nothing written", cur.Name, s.App, s.Image)
	return true, nil
}

// settleInterrupted records the releases whose deploy stopped before it
// could record an outcome (a killed CI job) as failed, and says so. The
// caller holds the lease, so none of them is still running.
func (c *Cluster) settleInterrupted(ctx context.Context, rels []Release, log *progress) {
	for i := range rels {
		r := &rels[i]
		if !r.Pending() {
			continue
		}
		why := errors.New("interrupted: the deploy that made it stopped before its gate ended (a killed or cancelled run); what it applied was replaced by the next deploy")
		if err := c.mark(ctx, r, outcome.Failed, why); err == nil {
			log.printf("release %s of %s was interrupted before its gate ended; recorded as failed", r.Name, r.App)
		}
	}
}

// RollbackSpec says which release of App to bring back.
type RollbackSpec struct {
	App string
	// To is a release name from Releases; "" is the newest healthy release
	// other than the current one.
	To                        string
	Timeout, Settle, LockWait time.Duration // as in Spec (defaults 5m, 10s, 0)
	Drain                     time.Duration // blue-green, as in Spec (default 10s)
	Who                       string
	// Verify, if set, checks the target release's image after the target
	// is chosen and before anything is applied; its error refuses the
	// rollback.
	Verify func(ctx context.Context, image string) error
	// Policy: Verified (with Verify set) and Name, or OptOut, as in Spec.
	Policy Policy
	// Log receives progress lines, as in Spec.
	Log io.Writer
}

// Rollback brings a recorded release back with the strategy the app runs
// with (blue-green: into the standby color, gated, then the switch) and
// gates it. If it fails its gate, what served before serves again.
func (c *Cluster) Rollback(ctx context.Context, rs RollbackSpec) (Result, error) {
	start := time.Now()
	res := Result{Outcome: outcome.Unchanged}
	d := Spec{Timeout: rs.Timeout, Settle: rs.Settle, Who: rs.Who, Drain: rs.Drain}.withDefaults()
	log := newProgress(rs.Log)
	if rs.Policy.Verified && rs.Verify == nil {
		return res, fmt.Errorf("rollback of %q: a verified rollback needs the Verify check that verifies it", rs.App)
	}
	held, err := c.HeldPolicy(ctx)
	if err != nil {
		return res, err
	}
	if err := c.checkPolicy(held, rs.Policy); err != nil {
		return res, fmt.Errorf("rollback of %q refused, nothing applied: %w", rs.App, err)
	}
	ctx, unlock, err := c.lock(ctx, rs.App, d.Who, rs.LockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	rels, err := c.Releases(ctx, rs.App)
	if err != nil {
		return res, err
	}
	c.settleInterrupted(ctx, rels, log)
	target, err := findRelease(rels, rs.To)
	if err != nil {
		return res, fmt.Errorf("rolling back %q: %w", rs.App, err)
	}
	res.Release = *target
	if rs.Verify != nil {
		if err := rs.Verify(ctx, target.Image); err != nil {
			return res, fmt.Errorf("rollback of %q to %s refused, nothing applied: %w", rs.App, target.Name, err)
		}
	}
	if _, err := c.diffAll(ctx, target.objects); err != nil {
		return res, fmt.Errorf("rolling back %q to %s: %w", rs.App, target.Name, err)
	}
	if err := c.noteOptOut(ctx, held, rs.Policy, rs.App, target.Name, d.Who, log); err != nil {
		return res, err
	}
	var cur *Release
	for i := range rels {
		if rels[i].Current && rels[i].Name != target.Name {
			cur = &rels[i]
		}
	}
	name := Rolling
	if col, err := c.liveColor(ctx, rs.App); err == nil && col != "" {
		name = BlueGreen
	}
	how, _ := strategyFor(name)
	res.Strategy = name
	r := &rollout{app: rs.App, rel: target, prev: cur, timeout: d.Timeout, settle: d.Settle, drain: d.Drain, log: log, start: start}
	if r.inv, err = c.readInventory(ctx, rs.App); err != nil {
		return res, err
	}
	log.printf("rolling %s back to release %s (%s, %s)", rs.App, target.Name, target.Image, name)
	out, gerr := how.goLive(ctx, c, r)
	res.Outcome, res.Color, res.Changes = out, r.color, r.changes
	if cur != nil && out == outcome.RolledBack {
		res.RolledBackTo = cur.Name
	}
	if gerr != nil {
		gerr = fmt.Errorf("rolling back %q to %s: %w", rs.App, target.Name, gerr)
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*cleanupTimeout)
	defer cancel()
	if out == outcome.Succeeded {
		cs, perr := c.prune(bg, rs.App, r.inv, r.keep)
		res.Changes = append(res.Changes, cs...)
		gerr = errors.Join(perr, c.writeInventory(bg, rs.App, r.inv), c.rememberPolicy(bg, held, rs.Policy, rs.App, target.Name))
	} else {
		gerr = errors.Join(gerr, c.writeInventory(bg, rs.App, r.inv))
	}
	res.Took = time.Since(start)
	return res, gerr
}
