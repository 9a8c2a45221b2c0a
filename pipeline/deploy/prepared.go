package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Prepared is one server made ready for a deploy and held: the spec is
// valid, the server passed its preflight and the deploy lock is taken,
// but nothing has changed yet. A fleet prepares every host before it
// deploys to any, so one unreachable or locked host stops the run with
// nothing changed anywhere. Deploy, Rollback, Verify and Restore run
// under the held lock; Release lets it go.
type Prepared struct {
	s       *server
	spec    Spec
	lock    *lock
	current string
}

// Validate checks spec the way Deploy does, with no network traffic.
func (s Spec) Validate() error {
	_, err := s.withDefaults()
	return err
}

// Prepare validates spec, runs the preflight (docker, compose, flock,
// disk) and takes the app's deploy lock on the server behind c.
func Prepare(ctx context.Context, c *sshconn.Client, spec Spec) (*Prepared, error) {
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newServer(c, spec.App, spec.AppDir, spec.Service)
	l, err := s.begin(ctx, spec.MinFreeMB, spec.Who)
	if err != nil {
		return nil, err
	}
	p := &Prepared{s: s, spec: spec, lock: l}
	if p.current, err = s.current(ctx); err != nil {
		p.Release()
		return nil, err
	}
	return p, nil
}

// Current is the release that was current when the lock was taken ("" for
// an app never deployed there).
func (p *Prepared) Current() string { return p.current }

// Deploy ships the prepared spec, exactly as Deploy does.
func (p *Prepared) Deploy(ctx context.Context) (*Result, error) {
	return p.s.deployLocked(ctx, p.spec, time.Now())
}

// Rollback brings back release to (as Rollback with RollbackSpec.To),
// gated with the prepared spec's health timing.
func (p *Prepared) Rollback(ctx context.Context, to string) (*Result, error) {
	if to == "" {
		return nil, fmt.Errorf("%w: no release named", ErrNoRollbackTarget)
	}
	rs := RollbackSpec{App: p.spec.App, AppDir: p.spec.AppDir, Service: p.spec.Service, To: to, Who: p.spec.Who, Health: p.spec.Health}
	return p.s.rollbackLocked(ctx, rs, p.spec.Health, p.spec.Who, time.Now())
}

// Verify gates the current release again where it runs, without starting
// anything: every probe of its gate must pass for the settle window, and
// its container must neither restart nor turn unhealthy meanwhile. A
// canary is verified this way after its pause.
func (p *Prepared) Verify(ctx context.Context) error {
	rec, err := p.currentRecord(ctx)
	if err != nil {
		return err
	}
	h := gateOf(rec, p.spec.Health)
	if strategyOf(rec) == StrategyBlueGreen {
		if rec.Proxy == nil {
			return fmt.Errorf("release %s runs blue-green but records no proxy", rec.Name)
		}
		return p.s.gateColor(ctx, rec, rec.Proxy.Name, rec.HealthPort, h, nil)
	}
	return p.s.gate(ctx, rec.Name, rec.ImageID, h, nil)
}

// Restore brings the current release back after a deploy that was cut
// off (its connection died) before it could roll back: releases left
// pending are marked failed, and if current's container is not running
// its image, current is started again and gated; with no current release
// (a first deploy cut off) the pending one is stopped. It reports whether
// it had to start or stop anything.
func (p *Prepared) Restore(ctx context.Context) (bool, error) {
	recs, cur, err := p.s.history(ctx)
	if err != nil {
		return false, err
	}
	for _, r := range recs {
		if r.Outcome == OutcomePending && r.Name > cur {
			r.Outcome, r.Error = OutcomeFailed, "the deploy was cut off before its gate passed"
			if r.Strategy == StrategyBlueGreen && r.Color != "" {
				// It never served: the proxy switches only after the gate.
				p.s.removeColor(ctx, r.Name, r.Color)
			}
			_ = p.s.saveRecord(ctx, r)
		}
	}
	if cur == "" {
		// A first deploy that was cut off: like a failed first deploy, it
		// leaves nothing running.
		stopped := false
		for _, r := range recs {
			if r.Outcome == OutcomePending && strategyOf(r) == StrategyRecreate {
				_ = p.s.down(ctx, r.Name)
				stopped = true
			}
		}
		return stopped, nil
	}
	rec, ok := findRecord(recs, cur)
	if !ok {
		return false, fmt.Errorf("current release %s has no release.json", cur)
	}
	h := gateOf(rec, p.spec.Health)
	if strategyOf(rec) == StrategyBlueGreen {
		if rec.Proxy == nil {
			return false, fmt.Errorf("release %s runs blue-green but records no proxy", rec.Name)
		}
		if _, st, err := p.s.inColor(rec.Color).serviceState(ctx, rec.Name); err == nil && st.Status == "running" && st.Image == rec.ImageID {
			return false, nil
		}
		return true, p.s.startColor(ctx, rec, rec.Proxy.Name, rec.HealthPort, h)
	}
	if _, st, err := p.s.serviceState(ctx, rec.Name); err == nil && st.Status == "running" && st.Image == rec.ImageID {
		return false, nil
	}
	return true, p.s.startAndGate(ctx, rec, h)
}

func (p *Prepared) currentRecord(ctx context.Context) (Record, error) {
	cur, err := p.s.current(ctx)
	if err != nil {
		return Record{}, err
	}
	if cur == "" {
		return Record{}, fmt.Errorf("%s has never been deployed to %s", p.spec.App, p.s.c.Target())
	}
	return p.s.record(ctx, cur)
}

// Release lets go of the deploy lock. It is safe to call twice.
func (p *Prepared) Release() {
	if p.lock != nil {
		p.lock.release()
		p.lock = nil
	}
}
