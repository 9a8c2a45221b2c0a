package compose

import (
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"

	"context"
	"errors"
	"strings"
	"testing"
	"time"
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
	if _, err := Deploy(ctx, w.dial(t), w.spec(app, port, "v2")); !errors.Is(err, host.ErrLocked) {
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

// A first deploy whose connection dies during its gate cannot clean up
// after itself; Restore, on a new connection, stops what it left running
// and records it as failed.
func TestRestoreStopsACutFirstDeploy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	app, port := w.app(t, "cut")
	spec := w.spec(app, port, "v1")
	spec.Health.Settle = 3 * time.Second // a window to cut in

	c := w.dial(t)
	p, err := Prepare(ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := p.Deploy(ctx); done <- err }()
	for deadline := time.Now().Add(60 * time.Second); version(t, port) != "v1"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("v1 never served")
		}
	}
	_ = c.Close() // the connection drops mid-gate
	if err := <-done; err == nil {
		t.Fatal("a deploy whose connection dropped succeeded")
	}
	p.Release()
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the cut the release should still run, unattended: /version = %q", got)
	}

	var p2 *Prepared
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if p2, err = Prepare(ctx, w.dial(t), spec); err == nil || !errors.Is(err, host.ErrLocked) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("prepare after the cut: %v", err)
	}
	defer p2.Release()
	stopped, err := p2.Restore(ctx)
	if err != nil || !stopped {
		t.Fatalf("restore: stopped=%v err=%v", stopped, err)
	}
	if got := version(t, port); !strings.HasPrefix(got, "down") {
		t.Fatalf("after restore: /version = %q, want nothing serving", got)
	}
	recs, err := Releases(ctx, w.dial(t), app, spec.AppDir)
	if err != nil || len(recs) != 1 || recs[0].Outcome != outcome.ReleaseFailed {
		t.Fatalf("releases after restore: %+v, %v", recs, err)
	}
}
