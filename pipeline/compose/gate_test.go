package compose

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// A release that answers 200 for 3s and then 500 passes a first-probe
// gate; the settle window catches it and the previous release stays live.
func TestGateSettleWindowCatchesADegradingRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "settle")
	ctx := context.Background()

	spec := w.spec(app, port, "v1")
	spec.Health.Settle = 0 // the default window
	r1, err := Deploy(ctx, c, spec)
	if err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	if r1.Took < host.DefaultSettle {
		t.Fatalf("deploy v1 took %s, less than the %s settle window", r1.Took, host.DefaultSettle)
	}

	spec = w.spec(app, port, "v2")
	spec.Health.Settle = 0
	spec.Env = []byte("HELLO_FAIL_AFTER=3s\n")
	_, err = Deploy(ctx, c, spec)
	if err == nil {
		t.Fatal("a release that degrades 3s after its first good probe went live")
	}
	for _, want := range []string{"answered 500", "after the first passing probe", "rolled back to " + r1.Release + ", which is serving"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q, want v1 still serving", got)
	}
}

// A container that exits at once is restarted by docker over and over:
// the gate fails on the first restart, with the container's last words,
// instead of waiting out the timeout.
func TestGateFailsFastWhenTheContainerRestarts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "crash")
	ctx := context.Background()
	r1, err := Deploy(ctx, c, w.spec(app, port, "v1"))
	if err != nil {
		t.Fatalf("deploy v1: %v", err)
	}

	spec := w.spec(app, port, "v2")
	// A timeout far above what the whole deploy and its rollback take even
	// on a loaded machine (50 s; 3 minutes at load 30), so only a gate that
	// waits it out fails below.
	spec.Health.Timeout = 10 * time.Minute
	spec.Env = []byte("PORT=notaport\n") // hello cannot listen and exits
	start := time.Now()
	_, err = Deploy(ctx, c, spec)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a crashing release went live")
	}
	for _, want := range []string{"restarted by docker", "notaport", "rolled back to " + r1.Release + ", which is serving"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if took > spec.Health.Timeout/2 {
		t.Errorf("the crashing release was waited on for %s (timeout %s)", took, spec.Health.Timeout)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q, want v1 still serving", got)
	}
}

// Each release is gated on the port and path it was deployed with: a
// failed deploy that moved the port rolls back to a release gated on its
// own port, and a failed rollback restores the current release on its own.
func TestEachReleaseIsGatedByItsOwnRecord(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "gateof")
	otherPort := testworld.FreePort(t)
	ctx := context.Background()
	short := func(s Spec) Spec { s.Health.Timeout = 8 * time.Second; return s }

	r1, err := Deploy(ctx, c, short(w.spec(app, port, "v1")))
	if err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	broken := short(w.spec(app, port, "v3"))
	broken.Publish = fmt.Sprintf("127.0.0.1:%d:%d", otherPort, testworld.HelloPort)
	_, err = Deploy(ctx, c, broken)
	if err == nil || !strings.Contains(err.Error(), "rolled back to "+r1.Release+", which is serving") {
		t.Fatalf("deploy of broken v3 on another port: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q, want v1", got)
	}
	recs, err := Releases(ctx, c, app, broken.AppDir)
	if err != nil || len(recs) != 2 || recs[0].HealthPort != otherPort || recs[1].HealthPort != port {
		t.Fatalf("releases = %+v, %v", recs, err)
	}
	failed := recs[0].Name

	r2, err := Deploy(ctx, c, short(w.spec(app, port, "v2")))
	if err != nil {
		t.Fatalf("deploy v2: %v", err)
	}
	// Rolling back to the broken release fails on its own port; v2 comes
	// back, gated on v2's port, not on the target's.
	_, err = Rollback(ctx, c, RollbackSpec{App: app, AppDir: broken.AppDir, To: failed, Health: host.Health{Timeout: 8 * time.Second, Interval: 250 * time.Millisecond, Settle: time.Second}})
	if err == nil || !strings.Contains(err.Error(), r2.Release+" is serving again") {
		t.Fatalf("rollback to the broken release: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q, want v2", got)
	}
	// A caller's port and path do not override the target's record.
	_, err = Rollback(ctx, c, RollbackSpec{App: app, AppDir: broken.AppDir, To: r1.Release, Health: host.Health{Port: otherPort, Path: "/nope", Timeout: 8 * time.Second, Interval: 250 * time.Millisecond, Settle: time.Second}})
	if err != nil {
		t.Fatalf("rollback to v1: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q, want v1", got)
	}
}
