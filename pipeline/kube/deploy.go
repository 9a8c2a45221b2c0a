package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Result is how a Deploy or Rollback ended; Outcome is set even with an
// error.
type Result struct {
	Outcome outcome.Outcome
	// Release is the release deployed or rolled back to; RolledBackTo the
	// one restored after it failed ("" if none).
	Release      Release
	RolledBackTo string
	Took         time.Duration
}

// Deploy applies s as a new release of s.App and gates it. When the gate
// fails it re-applies the previous healthy release and gates that too.
// Nothing is applied when s is invalid, the image is missing, the server
// refuses the manifests in a dry run, or the lock is held.
func (c *Cluster) Deploy(ctx context.Context, s Spec) (Result, error) {
	start := time.Now()
	res := Result{Outcome: outcome.Unchanged}
	if err := s.Validate(); err != nil {
		return res, err
	}
	s = s.withDefaults()
	rel := Release{Name: releaseName(start, s.Version), App: s.App, Image: s.Image, Version: s.Version, Commit: s.Commit, Who: s.Who, CreatedAt: start.UTC(), Outcome: OutcomePending}
	objs, err := objects(s, rel.Name)
	if err != nil {
		return res, err
	}
	rel.objects = objs
	res.Release = rel
	if !s.SkipImageCheck {
		if err := checkImage(ctx, s); err != nil {
			return res, err
		}
	}
	var pre []*unstructured.Unstructured
	if s.RegistryAuth != nil {
		ps, err := pullSecret(s.App, *s.RegistryAuth)
		if err != nil {
			return res, err
		}
		pre = append(pre, ps)
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
	if err := c.apply(ctx, append(pre, objs...), true); err != nil {
		return res, err
	}
	if err := c.record(ctx, rel); err != nil {
		return res, err
	}
	err = c.apply(ctx, append(pre, objs...), false)
	if err == nil {
		err = c.gate(ctx, s.App, objs, s.Timeout, s.Settle)
	}
	// Record and restore even when the caller gave up: a half-rolled
	// release must not be left behind.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.Timeout+time.Minute)
	defer cancel()
	if err == nil {
		res.Outcome, res.Took = outcome.Succeeded, time.Since(start)
		if err := c.mark(bg, &rel, OutcomeHealthy, nil); err != nil {
			return res, err
		}
		res.Release = rel
		if err := c.prune(bg, s.App, s.Keep); err != nil {
			return res, fmt.Errorf("release %s is live, but: %w", rel.Name, err)
		}
		return res, nil
	}
	failure := fmt.Errorf("release %s of %s failed its gate: %w", rel.Name, s.App, err)
	if merr := c.mark(bg, &rel, OutcomeFailed, err); merr != nil {
		failure = errors.Join(failure, merr)
	}
	res.Release = rel
	prev, ferr := restoreTarget(rels)
	if ferr != nil {
		res.Outcome, res.Took = outcome.Failed, time.Since(start)
		return res, fmt.Errorf("%w; nothing to roll back to: %w", failure, ferr)
	}
	res.RolledBackTo = prev.Name
	res.Outcome = c.restore(bg, s.App, prev, s.Timeout, s.Settle, &failure)
	res.Took = time.Since(start)
	return res, failure
}

// restore re-applies prev's recorded manifests after a failed release and
// gates them: RolledBack if they become healthy, Failed if not. It adds
// what happened to *failure.
func (c *Cluster) restore(ctx context.Context, app string, prev *Release, timeout, settle time.Duration, failure *error) outcome.Outcome {
	err := c.apply(ctx, prev.objects, false)
	if err == nil {
		err = c.gate(ctx, app, prev.objects, timeout, settle)
	}
	if err != nil {
		*failure = fmt.Errorf("%w; rolling back to %s failed too: %w", *failure, prev.Name, err)
		return outcome.Failed
	}
	*failure = fmt.Errorf("%w; rolled back to %s (%s), which is healthy", *failure, prev.Name, prev.Image)
	return outcome.RolledBack
}

// RollbackSpec says which release of App to bring back.
type RollbackSpec struct {
	App string
	// To is a release name from Releases; "" is the newest healthy release
	// other than the current one.
	To                        string
	Timeout, Settle, LockWait time.Duration // as in Spec (defaults 5m, 10s, 0)
	Who                       string
	// Verify, if set, checks the target release's image after the target
	// is chosen and before anything is applied; its error refuses the
	// rollback.
	Verify func(ctx context.Context, image string) error
}

// Rollback re-applies a recorded release and gates it. If it fails its
// gate, the release that was current before is re-applied (RolledBack).
func (c *Cluster) Rollback(ctx context.Context, r RollbackSpec) (Result, error) {
	start := time.Now()
	res := Result{Outcome: outcome.Unchanged}
	d := Spec{Timeout: r.Timeout, Settle: r.Settle, Who: r.Who}.withDefaults()
	ctx, unlock, err := c.lock(ctx, r.App, d.Who, r.LockWait)
	if err != nil {
		return res, err
	}
	defer unlock()
	rels, err := c.Releases(ctx, r.App)
	if err != nil {
		return res, err
	}
	target, err := findRelease(rels, r.To)
	if err != nil {
		return res, fmt.Errorf("rolling back %q: %w", r.App, err)
	}
	res.Release = *target
	if r.Verify != nil {
		if err := r.Verify(ctx, target.Image); err != nil {
			return res, fmt.Errorf("rollback of %q to %s refused, nothing applied: %w", r.App, target.Name, err)
		}
	}
	if err := c.apply(ctx, target.objects, true); err != nil {
		return res, fmt.Errorf("rolling back %q to %s: %w", r.App, target.Name, err)
	}
	err = c.apply(ctx, target.objects, false)
	if err == nil {
		err = c.gate(ctx, r.App, target.objects, d.Timeout, d.Settle)
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.Timeout+time.Minute)
	defer cancel()
	if err == nil {
		res.Outcome, res.Took = outcome.Succeeded, time.Since(start)
		return res, nil
	}
	failure := fmt.Errorf("rolling back %q to %s: %w", r.App, target.Name, err)
	var prev *Release
	for i := range rels {
		if rels[i].Current {
			prev = &rels[i]
		}
	}
	if prev == nil || prev.Name == target.Name {
		res.Outcome, res.Took = outcome.Failed, time.Since(start)
		return res, failure
	}
	res.RolledBackTo = prev.Name
	res.Outcome = c.restore(bg, r.App, prev, d.Timeout, d.Settle, &failure)
	res.Took = time.Since(start)
	return res, failure
}
