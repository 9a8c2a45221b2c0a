package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// pollEvery is how often the gate looks at the rollout.
const pollEvery = time.Second

// gateSpec is one rollout to watch.
type gateSpec struct {
	// deployment is the Deployment whose newest pods are gated (the app's,
	// or a blue-green color's).
	deployment string
	// objs must all become Current (kstatus).
	objs            []*unstructured.Unstructured
	timeout, settle time.Duration
	// hold keeps watching that long even once done: blue-green's drain,
	// during which a failure still switches back.
	hold time.Duration
	// since: events older than this belong to earlier runs.
	since time.Time
}

// gate waits until every object is Current (kstatus) and every pod of the
// Deployment's newest ReplicaSet has been Ready for the settle window
// without a restart. It ends at once with a *RolloutError when a failure
// is certain (see watch.go), and after the timeout otherwise. It writes
// a progress line per change.
func (c *Cluster) gate(ctx context.Context, g gateSpec, log *progress) error {
	start := time.Now()
	if g.since.IsZero() {
		g.since = start
	}
	w := &watcher{c: c, g: g, log: log, seenReady: map[types.UID]bool{}, seenEvents: map[string]bool{}, unschedSince: map[types.UID]time.Time{}, configErrSince: map[string]time.Time{}}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	var last string
	for {
		done, why, err := w.check(ctx)
		var re *RolloutError
		if errors.As(err, &re) {
			re.After = time.Since(start).Round(100 * time.Millisecond).String()
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err == nil {
			if done && time.Since(start) >= g.hold {
				return nil
			}
			if done {
				why = fmt.Sprintf("%s healthy; watching it through the %s drain", g.deployment, g.hold)
			}
			last = why
			log.state(why)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &RolloutError{Kind: FailTimeout, Object: "Deployment " + g.deployment, Reason: "not healthy within " + g.timeout.String(), Message: last}
			}
			return &RolloutError{Kind: FailInterrupted, Object: "Deployment " + g.deployment, Reason: "interrupted: " + context.Cause(ctx).Error(), Message: last}
		case <-time.After(pollEvery):
		}
	}
}

// check looks once. It returns done, or why not yet, or a failure that
// waiting will not cure.
func (w *watcher) check(ctx context.Context) (bool, string, error) {
	st, err := w.look(ctx)
	if err != nil {
		return false, "", err
	}
	if st.why != "" {
		return false, st.why, nil
	}
	for _, o := range w.g.objs {
		r, err := w.c.resource(o)
		if err != nil {
			return false, "", err
		}
		live, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, fmt.Sprintf("reading %s %s: %v", o.GetKind(), o.GetName(), err), nil
		}
		res, err := status.Compute(live)
		if err != nil {
			return false, "", fmt.Errorf("computing the status of %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		switch res.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			return false, "", &RolloutError{Kind: FailProgress, Object: o.GetKind() + " " + o.GetName(), Reason: "Failed", Message: res.Message}
		default:
			return false, fmt.Sprintf("%s; %s %s is %s: %s", st.summary, o.GetKind(), o.GetName(), res.Status, res.Message), nil
		}
	}
	for _, p := range st.current {
		ready := readySince(p)
		if ready.IsZero() {
			return false, st.summary, nil
		}
		if time.Since(ready) < w.g.settle {
			return false, fmt.Sprintf("%s; settling (each pod Ready for %s, no restart)", st.summary, w.g.settle), nil
		}
	}
	// Done means only the new release serves: a pod of an older one
	// keeps answering through its preStop sleep, and a deploy that
	// returned then would leave the old version reachable for a while.
	if len(st.old) > 0 {
		return false, fmt.Sprintf("%s; pod %s of an older release is still stopping", st.summary, st.old[0].Name), nil
	}
	return true, "", nil
}
