package compose

import (
	"context"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Prepared is one server made ready for a deploy and held: the spec is
// valid, the server passed its preflight and the deploy lock is taken,
// but nothing has changed yet. A fleet prepares every host before it
// deploys to any, so one unreachable or locked host stops the run with
// nothing changed anywhere. Deploy, Rollback, Verify and Restore run
// under the held lock; Release lets it go.
type Prepared struct {
	a       *host.App
	spec    Spec
	lock    *host.Held
	current string
	policy  *policyGate
}

// Validate checks spec the way Deploy does, with no network traffic.
func (s Spec) Validate() error {
	_, err := s.withDefaults()
	return err
}

// ready checks what a valid spec still needs to run and Validate does not
// ask for (a caller validates the request before it exports the tarball):
// the ssh transfer's tarball. It is checked before the first remote
// command, as everything else is.
func (s Spec) ready() error {
	if t, ok := s.Transfer.(host.SSH); ok && t.Tarball == "" {
		return host.ErrNoTarball
	}
	return nil
}

// Prepare validates spec, runs the preflight (docker, compose, flock,
// disk) and takes the app's deploy lock on the server behind c.
func Prepare(ctx context.Context, c *sshconn.Client, spec Spec) (*Prepared, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := spec.ready(); err != nil {
		return nil, err
	}
	a := host.New(c, spec.App, spec.AppDir, spec.Service).WithTimeouts(spec.Timeouts)
	l, err := a.Begin(ctx, spec.MinFreeMB, spec.Who, spec.LockWait, spec.LockWaiting)
	if err != nil {
		return nil, err
	}
	p := &Prepared{a: a, spec: spec, lock: l}
	if p.current, err = a.Current(ctx); err != nil {
		p.Release()
		return nil, err
	}
	if p.policy, err = checkPolicyHeld(ctx, a, "deploy", spec.Verified, spec.Unverified); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

// Current is the release that was current when the lock was taken ("" for
// an app never deployed there).
func (p *Prepared) Current() string { return p.current }

// Deploy ships the prepared spec, exactly as Deploy does. The result is
// never nil: its Outcome says what serves now.
func (p *Prepared) Deploy(ctx context.Context) (*Result, error) {
	return p.deploy(ctx, time.Now())
}

// deploy chooses the strategy from the spec and the current release's
// record, and delegates to it.
func (p *Prepared) deploy(ctx context.Context, start time.Time) (*Result, error) {
	existing, cur, err := p.a.History(ctx)
	if err != nil {
		return unchanged(), err
	}
	prev, _ := host.FindRecord(existing, cur)
	st, spec, err := forDeploy(p.spec, prev)
	if err != nil {
		return unchanged(), err
	}
	if err := p.policy.begin(ctx, p.a, spec.Who); err != nil {
		return unchanged(), fmt.Errorf("deploy of %s refused, nothing changed: recording the opt-out from its signing policy in deploys.log failed: %w", spec.App, err)
	}
	res, err := st.deploy(ctx, &deployment{a: p.a, spec: spec, existing: existing, prev: prev, start: start})
	res.Strategy = st.describe()
	if err == nil {
		err = p.policy.end(ctx, p.a, res, spec.Who)
	}
	return res, err
}

// Rollback brings back release to (as Rollback with RollbackSpec.To),
// gated with the prepared spec's health timing.
func (p *Prepared) Rollback(ctx context.Context, to string) (*Result, error) {
	if to == "" {
		return unchanged(), fmt.Errorf("%w: no release named", ErrNoRollbackTarget)
	}
	return rollbackLocked(ctx, p.a, to, p.spec.Health, p.spec.Who, time.Now(), nil, nil)
}

// Verify gates the current release again where it runs, without starting
// anything: every probe of its gate must pass for the settle window, and
// its container must neither restart nor turn unhealthy meanwhile. A
// canary is verified this way after its pause.
func (p *Prepared) Verify(ctx context.Context) error {
	rec, st, err := current(ctx, p.a)
	if err != nil {
		return err
	}
	return st.verify(ctx, p.a, rec, host.GateOf(rec, p.spec.Health))
}

// Restore brings the current release back after a deploy that was cut
// off (its connection died) before it could roll back: releases left
// pending are marked failed, and if current's container is not running
// its image, current is started again and gated; with no current release
// (a first deploy cut off) the pending one is stopped. It reports whether
// it had to start or stop anything.
func (p *Prepared) Restore(ctx context.Context) (bool, error) {
	recs, cur, err := p.a.History(ctx)
	if err != nil {
		return false, err
	}
	stopped := false
	for _, r := range recs {
		if r.Outcome != outcome.ReleasePending || r.Name <= cur {
			continue
		}
		r.Outcome, r.Error = outcome.ReleaseFailed, "the deploy was cut off before its gate passed"
		if st, err := forRecord(r); err == nil && st.abandon(ctx, p.a, r, cur == "") {
			stopped = true
		}
		_ = p.a.SaveRecord(ctx, r)
	}
	if cur == "" {
		return stopped, nil
	}
	rec, ok := host.FindRecord(recs, cur)
	if !ok {
		return false, fmt.Errorf("current release %s has no release.json", cur)
	}
	st, err := forRecord(rec)
	if err != nil {
		return false, err
	}
	return st.restore(ctx, p.a, rec, host.GateOf(rec, p.spec.Health))
}

// Release lets go of the deploy lock. It is safe to call twice.
func (p *Prepared) Release() {
	if p.lock != nil {
		p.lock.Release()
		p.lock = nil
	}
}
