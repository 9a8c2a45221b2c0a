package deploy

import (
	"context"
	"errors"
	"testing"
)

// Prepare holds the lock from before the deploy until Release, so a
// fleet can lock every host first; Deploy, Rollback and Verify run under it.
func TestPreparedHoldsTheLockAcrossDeployAndRollback(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	app, port := w.app(t, "prep")

	r1, err := Deploy(ctx, w.dial(t), w.spec(app, port, "v1"))
	if err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	p, err := Prepare(ctx, w.dial(t), w.spec(app, port, "v2"))
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	defer p.Release()
	if p.Current() != r1.Release {
		t.Fatalf("Current() = %q, want %q", p.Current(), r1.Release)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("prepare changed what serves: /version = %q", got)
	}
	if _, err := Deploy(ctx, w.dial(t), w.spec(app, port, "v2")); !errors.Is(err, ErrLocked) {
		t.Fatalf("a deploy beside a prepared one: err = %v, want ErrLocked", err)
	}

	r2, err := p.Deploy(ctx)
	if err != nil {
		t.Fatalf("prepared deploy: %v", err)
	}
	if got := version(t, port); got != "v2" || r2.Previous != r1.Release {
		t.Fatalf("after prepared deploy: /version = %q, previous %q", got, r2.Previous)
	}
	if err := p.Verify(ctx); err != nil {
		t.Fatalf("verify v2: %v", err)
	}
	if _, err := p.Rollback(ctx, r1.Release); err != nil {
		t.Fatalf("prepared rollback: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after prepared rollback: /version = %q", got)
	}
	if restarted, err := p.Restore(ctx); err != nil || restarted {
		t.Fatalf("restore of a healthy current release: restarted=%v err=%v", restarted, err)
	}

	p.Release()
	if _, err := Deploy(ctx, w.dial(t), w.spec(app, port, "v2")); err != nil {
		t.Fatalf("deploy after Release: %v", err)
	}
}
