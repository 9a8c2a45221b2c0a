package kube

import (
	"context"
	"errors"
	"fmt"

	"github.com/goship-dev/goship/pipeline/outcome"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// rolling updates the app's Deployment in place and re-applies the
// previous release's manifests when the gate fails.
type rolling struct{}

func (rolling) plan(ctx context.Context, c *Cluster, r *rollout) (apply, keep []*unstructured.Unstructured, err error) {
	objs, err := c.forHPA(ctx, r.rel.objects, r.log, !r.probe)
	if err != nil {
		return nil, nil, err
	}
	return append(append([]*unstructured.Unstructured(nil), r.pre...), objs...), objs, nil
}

func (s rolling) goLive(ctx context.Context, c *Cluster, r *rollout) (outcome.Outcome, error) {
	apply, keep, err := s.plan(ctx, c, r)
	if err != nil {
		return outcome.Unchanged, err
	}
	if err := r.track(ctx, c, keep); err != nil {
		return outcome.Unchanged, err
	}
	cs, err := c.applyAll(ctx, apply)
	r.changes = append(r.changes, cs...)
	r.inv.add(keep, cs)
	r.keep = keep
	if err != nil && cs.Writes() == 0 {
		return outcome.Unchanged, err
	}
	if err == nil {
		r.log.printf("applied release %s: %s", r.rel.Name, cs)
		err = c.gate(ctx, gateSpec{deployment: r.app, objs: apply, timeout: r.timeout, settle: r.settle, since: r.start}, r.log)
	}
	if err == nil {
		return outcome.Succeeded, nil
	}
	failure := fmt.Errorf("release %s of %s failed its gate: %w", r.rel.Name, r.app, err)
	if r.prev == nil {
		return outcome.Failed, fmt.Errorf("%w; nothing to roll back to: no earlier release passed its gate", failure)
	}
	var re *RolloutError
	switch {
	case ctx.Err() != nil:
		// The caller gave up: put the previous release's manifests back
		// without waiting for them, and say so.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		then := fmt.Sprintf("re-applied release %s's manifests without watching its rollout; check with status", r.prev.Name)
		if _, aerr := c.applyAll(cctx, r.prev.objects); aerr != nil {
			then = fmt.Sprintf("re-applying release %s failed too: %v; the app may run a mix of both releases: deploy again", r.prev.Name, aerr)
		}
		r.log.printf("interrupted: %s", then)
		return outcome.Failed, &InterruptedError{Release: r.rel.Name, Then: then, Cause: context.Cause(ctx)}
	case errors.As(err, &re) && re.Kind == FailNoNode && c.nodes(ctx).noNodeFor(podTemplate(r.prev.objects, r.app)):
		// Waiting for the previous release would time out too: no node can
		// run it either. Its manifests go back, for when a node returns.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if _, aerr := c.applyAll(cctx, r.prev.objects); aerr != nil {
			return outcome.Failed, fmt.Errorf("%w; re-applying release %s failed too: %w", failure, r.prev.Name, aerr)
		}
		return outcome.Failed, fmt.Errorf("%w; re-applied release %s's manifests, not waited for: no Ready node can run its pods either (%s)", failure, r.prev.Name, c.nodes(cctx).summary())
	}
	return c.restore(ctx, r, failure)
}

// restore re-applies r.prev after r.rel failed and gates it: RolledBack
// if it becomes healthy, Failed if not. It runs even when the caller gave
// up during the restore: a half-rolled app must not be left behind.
func (c *Cluster) restore(ctx context.Context, r *rollout, failure error) (outcome.Outcome, error) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout+cleanupTimeout)
	defer cancel()
	r.log.printf("rolling back to release %s", r.prev.Name)
	objs, err := c.forHPA(bg, r.prev.objects, r.log, true)
	if err == nil {
		var cs ChangeSet
		cs, err = c.applyAll(bg, objs)
		r.changes = append(r.changes, cs...)
	}
	if err == nil {
		err = c.gate(bg, gateSpec{deployment: r.app, objs: objs, timeout: r.timeout, settle: r.settle, since: r.start}, r.log)
	}
	if err != nil {
		return outcome.Failed, fmt.Errorf("%w; rolling back to %s failed too: %w", failure, r.prev.Name, err)
	}
	return outcome.RolledBack, fmt.Errorf("%w; rolled back to %s (%s), which is healthy", failure, r.prev.Name, r.prev.Image)
}
