package compose

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
)

// strategy is one way a release replaces the running one: recreate,
// blue-green, or leaving blue-green for recreate. It is chosen once, here,
// from the request and the app's record; the verbs only delegate to it.
// This file is the only one that compares strategies.
type strategy interface {
	// describe names the strategy for people.
	describe() string
	// deploy ships d's release; the lock is held.
	deploy(ctx context.Context, d *deployment) (*Result, error)
	// rollback brings r.target back in place of r.cur.
	rollback(ctx context.Context, r *rollbackJob) (*Result, error)
	// verify gates cur again where it runs, starting nothing.
	verify(ctx context.Context, a *host.App, cur host.Record, h host.Health) error
	// restore starts cur again (and gates it) when its container does
	// not run its image; it reports whether it had to.
	restore(ctx context.Context, a *host.App, cur host.Record, h host.Health) (bool, error)
}

// deployment is one deploy under the lock.
type deployment struct {
	a        *host.App
	spec     Spec          // defaults filled, strategy resolved
	existing []host.Record // newest first
	prev     host.Record   // the current release (zero for a new app)
	start    time.Time
}

// rollbackJob is one rollback under the lock: target replaces cur, each
// gated as its record says (h, curGate).
type rollbackJob struct {
	a           *host.App
	target, cur host.Record
	h, curGate  host.Health
	who         string
	start       time.Time
}

// forDeploy chooses the strategy of a deploy of spec over prev (the
// current release, zero for a new app) and settles what spec leaves open.
func forDeploy(spec Spec, prev host.Record) (strategy, Spec, error) {
	behindProxy := strategyOf(prev) == StrategyBlueGreen
	if spec.Strategy != StrategyBlueGreen && !behindProxy && !spec.Proxy.given() {
		return recreate{}, spec, nil
	}
	spec, err := spec.resolveStrategy(prev)
	if err != nil {
		return nil, spec, err
	}
	switch {
	case spec.Strategy != StrategyBlueGreen && spec.Proxy.given():
		return nil, spec, fmt.Errorf("%s runs %s: proxy settings need --strategy=%s", spec.App, spec.Strategy, StrategyBlueGreen)
	case spec.Strategy != StrategyBlueGreen:
		return leaveProxy{}, spec, nil
	}
	return blueGreen{migrating: prev.Name != "" && !behindProxy}, spec, nil
}

// forRecord is the strategy rec runs with, for verify, restore and
// rollback.
func forRecord(rec host.Record) strategy {
	if strategyOf(rec) == StrategyBlueGreen {
		return blueGreen{}
	}
	return recreate{}
}

// errCrossStrategy refuses rollbacks between strategies.
var errCrossStrategy = errors.New("rollback across strategies")

// forRollback is the strategy of a rollback from cur to target: both must
// run the same one.
func forRollback(target, cur host.Record) (strategy, error) {
	if strategyOf(target) != strategyOf(cur) {
		return nil, fmt.Errorf("%w: %s runs %s and %s ran %s: deploy %s again with --strategy=%s instead",
			errCrossStrategy, cur.Name, strategyOf(cur), target.Name, strategyOf(target), target.Image, strategyOf(cur))
	}
	return forRecord(target), nil
}

// withStrategy validates the strategy and the proxy settings given, so a
// bad value fails before anything touches the server. What is not given
// is settled by resolveStrategy, from the release running now.
func (s Spec) withStrategy() (Spec, error) {
	var err error
	if s.Strategy, err = ParseStrategy(string(s.Strategy)); err != nil {
		return s, err
	}
	if s.Strategy == StrategyRecreate && s.Proxy.given() {
		return s, fmt.Errorf("proxy settings need --strategy=%s", StrategyBlueGreen)
	}
	p, err := s.Proxy.withDefaults()
	if err != nil {
		return s, err
	}
	if p.Name == s.App {
		return s, fmt.Errorf("app %q has the proxy's name: rename one of them", s.App)
	}
	return s, nil
}

// resolveStrategy settles what the spec leaves open from the release
// running now (prev, zero for a new app): the strategy is kept, and
// blue-green keeps its proxy, each setting unless the spec gives one.
func (s Spec) resolveStrategy(prev host.Record) (Spec, error) {
	if s.Strategy == "" {
		s.Strategy = strategyOf(prev)
	}
	if s.Strategy != StrategyBlueGreen {
		return s, nil
	}
	if pr := prev.Proxy; pr != nil {
		p := &s.Proxy
		p.Name, p.Root, p.Image, p.Host = or(p.Name, pr.Name), or(p.Root, pr.Root), or(p.Image, pr.Image), or(p.Host, pr.Host)
		if p.Drain == 0 {
			p.Drain = pr.Drain
		}
	}
	var err error
	s.Proxy, err = s.Proxy.withDefaults()
	return s, err
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// strategyOf is how rec went live (records from before strategies ran
// recreate).
func strategyOf(r host.Record) Strategy {
	if r.Strategy == "" {
		return StrategyRecreate
	}
	return Strategy(r.Strategy)
}
