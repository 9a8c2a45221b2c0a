// Package fleet deploys one release to several hosts, rolling, the way
// Kamal's servers list does, built on pipeline/compose: before anything
// changes anywhere every host is connected, preflighted and locked; then
// hosts move in batches (optionally a canary first); and when any host
// fails, every host already moved in the run goes back to the exact
// release it had, so the fleet never stays mixed. It also reads releases
// and status across the fleet and shows drift.
package fleet

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Plan is one rolling deploy.
type Plan struct {
	// Hosts are the servers, in rollout order; each KnownHosts must pin
	// that host's key.
	Hosts []sshconn.Config
	// Spec is the deploy, the same on every host (either strategy).
	Spec compose.Spec
	// ForHost, when set, tailors Spec for one host: a different app dir,
	// env or port.
	ForHost func(host sshconn.Config, spec compose.Spec) compose.Spec
	Rollout
}

// Rollout is how a plan moves its hosts.
type Rollout struct {
	// Parallel is how many hosts move at once (default 1).
	Parallel int
	// Canary, when set, moves the first host alone, then waits and checks
	// it before the rest move.
	Canary *Canary
	// Log, when set, gets one line per step as the run goes.
	Log io.Writer
}

// NewPlan checks a deploy of spec to hosts, moved as r, and returns the
// plan Run takes. It touches no host: a caller checks its input with it
// before an expensive step (exporting the tarball an ssh transfer
// streams) and plans again after. An error names the flag to fix.
func NewPlan(hosts []sshconn.Config, spec compose.Spec, r Rollout) (Plan, error) {
	plan := Plan{Hosts: hosts, Spec: withImage(spec), Rollout: r}
	if err := plan.checkRollout(); err != nil {
		return Plan{}, err
	}
	if err := plan.Spec.Validate(); err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// withImage fills the reference an ssh transfer tags its image with when
// s names none (see compose.DefaultSSHImage).
func withImage(s compose.Spec) compose.Spec {
	if _, ok := s.Transfer.(host.SSH); ok && s.Image == "" {
		s.Image = compose.DefaultSSHImage(s.App, s.Version)
	}
	return s
}

// Canary is the first host's trial run.
type Canary struct {
	// Pause is how long the canary serves alone before it is checked.
	Pause time.Duration
	// Check, when set, runs after the pause (e.g. error rates from the
	// monitoring system); an error stops the run and rolls the canary
	// back. The canary's own health gate always runs again first.
	Check func(ctx context.Context, host sshconn.Config) error
}

// maxDials bounds concurrent connects and preflights.
const maxDials = 8

// Run deploys plan.Spec to every host, rolling. The report is returned
// even with an error; the error says what failed where and what the run
// did about it. A nil error means every host runs the new release.
func Run(ctx context.Context, plan Plan) (*Report, error) {
	start := time.Now()
	log := newLogger(plan.Log)
	members, err := plan.members()
	if err != nil {
		return nil, err
	}
	rep := &Report{App: members[0].spec.App, Image: members[0].spec.Image, Version: plan.Spec.Version, Who: plan.Spec.Who, Outcome: outcome.Failed}
	for _, m := range members {
		rep.Hosts = append(rep.Hosts, HostReport{Host: m.name, Outcome: outcome.Unchanged})
	}
	for i, m := range members {
		m.rep = &rep.Hosts[i]
	}
	defer func() {
		for _, m := range members {
			m.close()
		}
		rep.Took = time.Since(start)
	}()

	// Nothing changes anywhere until every host is connected, preflighted
	// and locked.
	if err := prepareAll(ctx, members, log); err != nil {
		rep.Outcome = outcome.Unchanged
		return rep, err
	}
	for _, m := range members {
		m.rep.Previous, m.rep.Serving = m.p.Current(), m.p.Current()
	}

	parallel := plan.Parallel
	if parallel <= 0 {
		parallel = 1
	}
	var moved, failed []*member
	rest := members
	if plan.Canary != nil {
		canary := members[0]
		rest = members[1:]
		if failed = deployBatch(ctx, []*member{canary}, log); failed == nil {
			moved = append(moved, canary)
			if err := checkCanary(ctx, canary, plan.Canary, log); err != nil {
				canary.fail(fmt.Errorf("canary: %w", err))
				failed = []*member{canary}
			}
		}
	}
	for len(rest) > 0 && failed == nil {
		n := min(parallel, len(rest))
		if len(moved) == 0 && members[0].spec.Migrate != "" {
			n = 1 // the first host migrates alone, before any host switches
		}
		batch := rest[:n]
		rest = rest[n:]
		failed = deployBatch(ctx, batch, log)
		for _, m := range batch {
			if m.rep.Outcome == outcome.Succeeded {
				moved = append(moved, m)
			}
		}
	}

	if failed == nil {
		rep.Outcome = outcome.Succeeded
		log.printf("fleet: all %d hosts run %s", len(members), rep.Image)
		return rep, nil
	}
	// The run stops here: every host moved goes back to what it had.
	rctx := context.WithoutCancel(ctx)
	rollbackAll(rctx, moved, parallel, log)
	rep.Outcome = runOutcome(rep.Hosts)
	if len(members) == 1 {
		return rep, members[0].failure()
	}
	return rep, runError(failed, members)
}

// members validates the plan and builds each host's spec; nothing is
// sent before this passes.
func (plan Plan) members() ([]*member, error) {
	if err := plan.checkRollout(); err != nil {
		return nil, err
	}
	var out []*member
	for i, cfg := range plan.Hosts {
		name := cfg.Addr()
		spec := withImage(plan.Spec)
		if plan.ForHost != nil {
			spec = plan.ForHost(cfg, spec)
		}
		if i > 0 {
			spec.Migrate = "" // once per run: the first host's deploy runs it
		}
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
		if t, ok := spec.Transfer.(host.SSH); ok && t.Tarball == "" {
			return nil, fmt.Errorf("host %s: %w", name, host.ErrNoTarball)
		}
		out = append(out, &member{cfg: cfg, name: name, spec: spec})
	}
	return out, nil
}

// checkRollout checks the hosts and the rollout settings, without the
// per-host specs.
func (plan Plan) checkRollout() error {
	if len(plan.Hosts) == 0 {
		return fmt.Errorf("fleet: no hosts")
	}
	if plan.Parallel < 0 {
		return fmt.Errorf("parallel %d: must be at least 1 (0 means 1)", plan.Parallel)
	}
	if plan.Canary != nil && plan.Canary.Pause < 0 {
		return fmt.Errorf("canary pause %s: must not be negative", plan.Canary.Pause)
	}
	seen := map[string]bool{}
	for _, cfg := range plan.Hosts {
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("host %s: %w", cfg.Addr(), err)
		}
		if seen[cfg.Addr()] {
			return fmt.Errorf("host %s is listed twice", cfg.Addr())
		}
		seen[cfg.Addr()] = true
	}
	return nil
}

// deployBatch moves a batch's hosts at once, waits for all of them, and
// returns those that did not move.
func deployBatch(ctx context.Context, batch []*member, log *logger) []*member {
	forEach(batch, len(batch), func(m *member) { m.deploy(ctx, log) })
	var failed []*member
	for _, m := range batch {
		if m.rep.Outcome != outcome.Succeeded {
			failed = append(failed, m)
		}
	}
	return failed
}

// checkCanary lets the canary serve alone for the pause, then gates it
// again where it runs and runs the user's check.
func checkCanary(ctx context.Context, m *member, c *Canary, log *logger) error {
	if c.Pause > 0 {
		log.printf("%s: canary serving alone for %s", m.name, c.Pause)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.Pause):
		case <-m.dead:
			return fmt.Errorf("connection lost during the canary pause")
		}
	}
	if err := m.p.Verify(ctx); err != nil {
		return fmt.Errorf("health gate after the pause: %w", err)
	}
	if c.Check != nil {
		if err := c.Check(ctx, m.cfg); err != nil {
			return fmt.Errorf("check: %w", err)
		}
	}
	log.printf("%s: canary healthy; rolling the rest", m.name)
	return nil
}

// rollbackAll brings every moved host back to the release it had, in
// batches of parallel (so a recreate rollback never takes every host down
// at once).
func rollbackAll(ctx context.Context, moved []*member, parallel int, log *logger) {
	for len(moved) > 0 {
		n := min(parallel, len(moved))
		forEach(moved[:n], n, func(m *member) { m.rollback(ctx, log) })
		moved = moved[n:]
	}
}
