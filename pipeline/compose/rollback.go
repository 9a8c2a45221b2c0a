package compose

import (
	"context"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// RollbackSpec names the app and, optionally, the release to return to.
type RollbackSpec struct {
	App, AppDir, Service string
	// To is a release name; empty means the newest healthy release before
	// the current one.
	To  string
	Who string
	// Health sets the gate's timing (Timeout, Interval, Settle). Each
	// release is gated on the path, host and port in its own record;
	// Health's only stand in for releases recorded without them.
	Health host.Health
	// Verify, if set, checks the target release's image after the target
	// is chosen and before anything changes on the server; its error
	// refuses the rollback.
	Verify func(ctx context.Context, image string) error
	// LockWait is how long to wait for the deploy lock another deploy or
	// rollback of the app holds (default 0: fail at once, naming it);
	// LockWaiting, when set, is told who holds it while this one waits.
	LockWait    time.Duration
	LockWaiting func(*host.LockedError)
	// Verified, when set, says Verify checks the target's image against
	// that signing policy; the app then holds it (see Spec.Verified). An
	// app that holds a policy refuses a rollback without it
	// (*PolicyError) unless Unverified gives the reason it runs anyway,
	// which deploys.log records.
	Verified   *PolicyMark
	Unverified string
}

// Rollback brings back an earlier release, gates it, and points current
// at it. If the target fails its gate, the release that was current is
// brought back.
func Rollback(ctx context.Context, c *sshconn.Client, spec RollbackSpec) (*Result, error) {
	start := time.Now()
	if err := host.CheckLockWait(spec.LockWait); err != nil {
		return unchanged(), err
	}
	s, err := host.Open(c, spec.App, spec.AppDir, spec.Service)
	if err != nil {
		return unchanged(), err
	}
	h, err := spec.Health.WithDefaults()
	if err != nil {
		return unchanged(), err
	}
	if spec.Verified != nil && spec.Verify == nil {
		return unchanged(), fmt.Errorf("a rollback verified against %s needs the check that verifies its target (Verify)", spec.Verified)
	}
	who := spec.Who
	if who == "" {
		who = "goship"
	}
	l, err := s.Begin(ctx, 0, who, spec.LockWait, spec.LockWaiting)
	if err != nil {
		return unchanged(), err
	}
	defer l.Release()
	gate, err := checkPolicyHeld(ctx, s, "rollback", spec.Verified, spec.Unverified)
	if err != nil {
		return unchanged(), err
	}
	return rollbackLocked(ctx, s, spec.To, h, who, start, spec.Verify, gate)
}

// rollbackLocked is Rollback once the server passed its preflight and the
// deploy lock is held; h is the gate's timing with its defaults, and
// policy the app's signing policy (nil: a run's own undo, not checked).
func rollbackLocked(ctx context.Context, s *host.App, to string, h host.Health, who string, start time.Time, verify func(context.Context, string) error, policy *policyGate) (*Result, error) {
	recs, cur, err := s.History(ctx)
	if err != nil {
		return unchanged(), err
	}
	target := to
	if target == "" {
		target = host.PreviousHealthy(recs, cur)
	}
	if target == "" {
		return unchanged(), fmt.Errorf("%w: %s has no healthy release before %q", ErrNoRollbackTarget, s.Name(), cur)
	}
	rec, ok := host.FindRecord(recs, target)
	if !ok {
		return unchanged(), fmt.Errorf("%w: no release %q of %s (see releases)", ErrNoRollbackTarget, target, s.Name())
	}
	if target == cur {
		return unchanged(), fmt.Errorf("release %s is already current", target)
	}
	if verify != nil {
		if err := verify(ctx, rec.Image); err != nil {
			return unchanged(), fmt.Errorf("rollback of %s to %s refused, nothing changed: %w", s.Name(), target, err)
		}
	}
	// Gate the target the way it was gated when it was deployed.
	if h.Port == 0 {
		h.Port = project.DefaultPort // published 1:1 by default
	}
	curRec, _ := host.FindRecord(recs, cur)
	st, err := forRollback(rec, curRec)
	if err != nil {
		return unchanged(), err
	}
	if err := policy.begin(ctx, s, who); err != nil {
		return unchanged(), fmt.Errorf("rollback of %s refused, nothing changed: recording the opt-out from its signing policy in deploys.log failed: %w", s.Name(), err)
	}
	res, err := st.rollback(ctx, &rollbackJob{a: s, target: rec, cur: curRec, h: host.GateOf(rec, h), curGate: host.GateOf(curRec, h), who: who, start: start})
	res.Strategy = string(st.name())
	if migrated, ok := newestMigrationAfter(recs, target); ok && err == nil {
		res.Schema = schemaNotBack(migrated, target)
	}
	if err == nil {
		err = policy.end(ctx, s, res, who)
	}
	return res, err
}

// rollbackJournal is the journal of a rollback to rec.
func rollbackJournal(ctx context.Context, a *host.App, rec *host.Record, who string) journal {
	return journal{ctx: ctx, a: a, event: "rollback", who: who, rec: rec}
}
