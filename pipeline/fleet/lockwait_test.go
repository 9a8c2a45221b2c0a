package fleet

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// With a lock wait, a run that finds another deploy holding a host's lock
// says who holds it and since when, waits, and deploys once it is let go.
func TestRunWaitsForAHeldLockAndSaysWhoHoldsIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hs, cfgs := w.hosts(t, 1)
	plan := w.plan(hs, cfgs, "v1")

	// Another deploy (alice's) holds the lock.
	c, err := sshconn.Dial(context.Background(), cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	other := plan.ForHost(cfgs[0], plan.Spec)
	other.Who = "alice@laptop"
	held, err := compose.Prepare(context.Background(), c, other)
	if err != nil {
		t.Fatal(err)
	}
	const holdFor = 4 * time.Second
	heldAt := time.Now()
	go func() {
		time.Sleep(holdFor)
		held.Release()
	}()

	var log bytes.Buffer
	plan.Log = &log
	plan.Spec.LockWait = time.Minute
	rep, err := Run(context.Background(), plan)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if waited := time.Since(heldAt); waited < holdFor {
		t.Fatalf("the run finished %s after alice took the lock she held for %s", waited, holdFor)
	}
	want := "waiting up to 1m0s for the deploy lock of " + hs[0].app + ", held by alice@laptop since "
	if !strings.Contains(log.String(), want) {
		t.Fatalf("the run's log does not say who holds the lock (%q):\n%s", want, log.String())
	}
	if rep.Outcome != outcome.Succeeded {
		t.Fatalf("outcome %s", rep.Outcome)
	}
	wantVersions(t, hs, "v1")

	// Without a wait, the same situation fails at once, naming alice.
	held, err = compose.Prepare(context.Background(), c, other)
	if err != nil {
		t.Fatal(err)
	}
	plan.Spec.LockWait = 0
	start := time.Now()
	_, err = Run(context.Background(), w.plan(hs, cfgs, "v2"))
	if err == nil || !strings.Contains(err.Error(), "alice@laptop") || time.Since(start) > 30*time.Second {
		t.Fatalf("a held lock without a wait: %v after %s", err, time.Since(start))
	}
	wantVersions(t, hs, "v1")
	held.Release()

	// A rollback waits for the lock the same way.
	if _, err := Run(context.Background(), w.plan(hs, cfgs, "v2")); err != nil {
		t.Fatalf("v2: %v", err)
	}
	held, err = compose.Prepare(context.Background(), c, other)
	if err != nil {
		t.Fatal(err)
	}
	rb := compose.RollbackSpec{App: hs[0].app, AppDir: hs[0].srv.AppRoot + "/" + hs[0].app, Health: plan.Spec.Health, Who: "bob@laptop"}
	if _, err := Rollback(context.Background(), cfgs, rb); err == nil || !strings.Contains(err.Error(), "alice@laptop") {
		t.Fatalf("a rollback into a held lock without a wait: %v", err)
	}
	wantVersions(t, hs, "v2")
	heldAt = time.Now()
	go func() {
		time.Sleep(holdFor)
		held.Release()
	}()
	rb.LockWait = time.Minute
	var told []string
	rb.LockWaiting = func(e *host.LockedError) { told = append(told, e.Holder()) }
	if _, err := Rollback(context.Background(), cfgs, rb); err != nil {
		t.Fatalf("a rollback with a lock wait: %v", err)
	}
	if waited := time.Since(heldAt); waited < holdFor {
		t.Fatalf("the rollback finished %s after alice took the lock she held for %s", waited, holdFor)
	}
	if len(told) == 0 || !strings.Contains(told[0], "alice@laptop") {
		t.Fatalf("the rollback was not told who holds the lock: %q", told)
	}
	wantVersions(t, hs, "v1")
}
