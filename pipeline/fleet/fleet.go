// Package fleet deploys one release to several hosts, rolling, the way
// Kamal's servers list does, built on pipeline/deploy: before anything
// changes anywhere every host is connected, preflighted and locked; then
// hosts move in batches (optionally a canary first); and when any host
// fails, every host already moved in the run goes back to the exact
// release it had, so the fleet never stays mixed. It also reads releases
// and status across the fleet and shows drift.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/goship-dev/goship/pipeline/deploy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Plan is one rolling deploy.
type Plan struct {
	// Hosts are the servers, in rollout order; each KnownHosts must pin
	// that host's key.
	Hosts []sshconn.Config
	// Spec is the deploy, the same on every host (either strategy).
	Spec deploy.Spec
	// ForHost, when set, tailors Spec for one host: a different app dir,
	// env or port, or (required for deploy.SSH transfers) the host's own
	// tarball reader, since a reader is read once.
	ForHost func(host sshconn.Config, spec deploy.Spec) deploy.Spec
	// Parallel is how many hosts move at once (default 1).
	Parallel int
	// Canary, when set, moves the first host alone, then waits and checks
	// it before the rest move.
	Canary *Canary
	// Log, when set, gets one line per step as the run goes.
	Log io.Writer
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

// relockWait is how long a reconnect waits for the lock a cut connection
// held to be let go by the server.
const relockWait = 15 * time.Second

// member is one host during a run.
type member struct {
	cfg  sshconn.Config
	name string
	spec deploy.Spec
	c    *sshconn.Client
	p    *deploy.Prepared
	dead chan struct{} // closed when c's connection ends
	rep  *HostReport
}

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
	rep := &Report{App: members[0].spec.App, Image: plan.Spec.Image, Version: plan.Spec.Version, Who: plan.Spec.Who, Outcome: RunFailed}
	for _, m := range members {
		rep.Hosts = append(rep.Hosts, HostReport{Host: m.name, Outcome: Untouched})
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
		return rep, err
	}
	for _, m := range members {
		m.rep.Previous, m.rep.Serving = m.p.Current(), m.p.Current()
	}

	parallel := plan.Parallel
	if parallel <= 0 {
		parallel = 1
	}
	var moved []*member
	var failure error
	rest := members
	if plan.Canary != nil {
		canary := members[0]
		rest = members[1:]
		if failure = deployBatch(ctx, []*member{canary}, log); failure == nil {
			moved = append(moved, canary)
			if err := checkCanary(ctx, canary, plan.Canary, log); err != nil {
				canary.rep.Error = "canary: " + err.Error()
				failure = fmt.Errorf("canary %s: %w", canary.name, err)
			}
		}
	}
	for len(rest) > 0 && failure == nil {
		n := min(parallel, len(rest))
		batch := rest[:n]
		rest = rest[n:]
		failure = deployBatch(ctx, batch, log)
		for _, m := range batch {
			if m.rep.Outcome == Deployed {
				moved = append(moved, m)
			}
		}
	}

	if failure == nil {
		rep.Outcome = RunSucceeded
		log.printf("fleet: all %d hosts run %s", len(members), plan.Spec.Image)
		return rep, nil
	}
	// The run stops here: every host moved goes back to what it had.
	rctx := context.WithoutCancel(ctx)
	rollbackAll(rctx, moved, parallel, log)
	rep.Outcome = RunRolledBack
	for _, h := range rep.Hosts {
		// Anything not back on what it had leaves the fleet mixed.
		if h.Outcome == RollbackFailed || h.Outcome == Deployed || (h.Outcome == Failed && h.Serving != h.Previous) {
			rep.Outcome = RunFailed
		}
	}
	return rep, fleetError(failure, rep)
}

// members validates the plan and builds each host's spec; nothing is
// sent before this passes.
func (plan Plan) members() ([]*member, error) {
	if len(plan.Hosts) == 0 {
		return nil, fmt.Errorf("fleet: no hosts")
	}
	if plan.Parallel < 0 {
		return nil, fmt.Errorf("parallel %d: must be at least 1 (0 means 1)", plan.Parallel)
	}
	if plan.Canary != nil && plan.Canary.Pause < 0 {
		return nil, fmt.Errorf("canary pause %s: must not be negative", plan.Canary.Pause)
	}
	seen := map[string]bool{}
	var readers []io.Reader
	var out []*member
	for _, cfg := range plan.Hosts {
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("host %s: %w", cfg.Addr(), err)
		}
		name := cfg.Addr()
		if seen[name] {
			return nil, fmt.Errorf("host %s is listed twice", name)
		}
		seen[name] = true
		spec := plan.Spec
		if plan.ForHost != nil {
			spec = plan.ForHost(cfg, spec)
		}
		if err := spec.Validate(); err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
		if t, ok := spec.Transfer.(deploy.SSH); ok && t.Tarball != nil {
			for _, r := range readers {
				if reflect.TypeOf(r).Comparable() && r == t.Tarball {
					return nil, fmt.Errorf("host %s: the ssh transfer reads its tarball once: give each host its own reader (Plan.ForHost)", name)
				}
			}
			readers = append(readers, t.Tarball)
		}
		out = append(out, &member{cfg: cfg, name: name, spec: spec})
	}
	return out, nil
}

// prepareAll connects to, preflights and locks every host at once. If any
// host fails, every lock taken is let go and the error names each host
// that failed and why.
func prepareAll(ctx context.Context, members []*member, log *logger) error {
	forEach(members, maxDials, func(m *member) {
		if err := m.prepare(ctx); err != nil {
			m.rep.Error = err.Error()
			log.printf("%s: preflight: %v", m.name, err)
			return
		}
		log.printf("%s: ready and locked (current release %s)", m.name, orNone(m.p.Current()))
	})
	var failed []string
	for _, m := range members {
		if m.rep.Error != "" {
			failed = append(failed, m.name+": "+m.rep.Error)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	for _, m := range members {
		m.close()
	}
	return &PreflightError{Failed: failed, Hosts: len(members)}
}

// PreflightError stops a run before anything changed on any host.
type PreflightError struct {
	Failed []string // "host: reason"
	Hosts  int
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("fleet preflight: %d of %d hosts not ready; nothing was changed on any host:\n  %s",
		len(e.Failed), e.Hosts, strings.Join(e.Failed, "\n  "))
}

// prepare connects, preflights and takes the lock.
func (m *member) prepare(ctx context.Context) error {
	c, err := sshconn.Dial(ctx, m.cfg)
	if err != nil {
		return err
	}
	p, err := deploy.Prepare(ctx, c, m.spec)
	if err != nil {
		_ = c.Close()
		return err
	}
	m.c, m.p, m.dead = c, p, make(chan struct{})
	go func(c *sshconn.Client, dead chan struct{}) { _ = c.Wait(); close(dead) }(c, m.dead)
	return nil
}

// isDead reports whether m's connection ended.
func (m *member) isDead() bool {
	if m.dead == nil {
		return true
	}
	select {
	case <-m.dead:
		return true
	default:
		return false
	}
}

// reconnect dials m again and takes its lock, which the server lets go of
// once it notices the old connection is gone.
func (m *member) reconnect(ctx context.Context) error {
	m.close()
	deadline := time.Now().Add(relockWait)
	for {
		err := m.prepare(ctx)
		if err == nil || !errors.Is(err, deploy.ErrLocked) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (m *member) close() {
	if m.p != nil {
		m.p.Release()
		m.p = nil
	}
	if m.c != nil {
		_ = m.c.Close()
		m.c = nil
	}
}

// deployBatch moves a batch's hosts at once and waits for all of them.
func deployBatch(ctx context.Context, batch []*member, log *logger) error {
	forEach(batch, len(batch), func(m *member) { m.deploy(ctx, log) })
	var errs []string
	for _, m := range batch {
		if m.rep.Outcome != Deployed {
			errs = append(errs, m.name+": "+firstLine(m.rep.Error))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// deploy moves one host. Its deploy rolls itself back when its gate
// fails; a connection cut mid-deploy cannot, so the host is reconnected
// and its current release restored.
func (m *member) deploy(ctx context.Context, log *logger) {
	start := time.Now()
	defer func() { m.rep.Took += time.Since(start) }()
	if m.isDead() {
		// The connection dropped while the host waited for its turn, and
		// with it the lock: take it again, and go on only if nothing
		// changed there meanwhile.
		if err := m.reconnect(ctx); err != nil {
			m.rep.Outcome, m.rep.Error = Untouched, "connection lost before its turn; reconnecting failed: "+err.Error()
			return
		}
		if cur := m.p.Current(); cur != m.rep.Previous {
			m.rep.Outcome, m.rep.Serving = Untouched, cur
			m.rep.Error = fmt.Sprintf("connection lost before its turn; meanwhile another deploy made %s current (was %s)", orNone(cur), orNone(m.rep.Previous))
			return
		}
		log.printf("%s: connection lost while waiting; reconnected and locked again", m.name)
	}
	log.printf("%s: deploying %s", m.name, m.spec.Image)
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-m.dead: // a dead connection fails the deploy now, not at the gate's timeout
			cancel()
		case <-dctx.Done():
		}
	}()
	res, err := m.p.Deploy(dctx)
	if err == nil {
		m.rep.New, m.rep.Serving, m.rep.Outcome = res.Release, res.Release, Deployed
		log.printf("%s: deployed %s in %s", m.name, res.Release, res.Took.Round(100*time.Millisecond))
		return
	}
	m.rep.Outcome, m.rep.Error = Failed, err.Error()
	if !m.isDead() {
		log.printf("%s: deploy failed: %s", m.name, firstLine(err.Error()))
		m.learnNew(ctx)
		return
	}
	log.printf("%s: connection lost mid-deploy; reconnecting to restore %s", m.name, orNone(m.rep.Previous))
	rctx := context.WithoutCancel(ctx)
	if rerr := m.reconnect(rctx); rerr != nil {
		m.rep.Serving = ""
		m.rep.Error = fmt.Sprintf("connection lost mid-deploy (%s); reconnecting failed (%v): its state is unknown, check it with status", firstLine(err.Error()), rerr)
		return
	}
	restarted, rerr := m.p.Restore(rctx)
	m.learnNew(rctx)
	switch {
	case rerr != nil:
		m.rep.Serving = ""
		m.rep.Error = fmt.Sprintf("connection lost mid-deploy, so its own rollback could not run (%s); reconnected, but restoring %s failed: %v", firstLine(err.Error()), m.rep.Previous, rerr)
	case restarted:
		m.rep.Error = fmt.Sprintf("connection lost mid-deploy, so its own rollback could not run (%s); reconnected and brought %s back", firstLine(err.Error()), m.rep.Previous)
	default:
		m.rep.Error = fmt.Sprintf("connection lost mid-deploy (%s); reconnected: %s was still serving", firstLine(err.Error()), m.rep.Previous)
	}
	log.printf("%s: %s", m.name, m.rep.Error)
}

// learnNew finds the name of the release a failed deploy created, for
// the report.
func (m *member) learnNew(ctx context.Context) {
	if m.c == nil {
		return
	}
	recs, err := deploy.Releases(ctx, m.c, m.spec.App, m.spec.AppDir)
	if err != nil {
		return
	}
	found := false
	for _, r := range recs { // newest first: the first match is this run's
		if !found && r.Name > m.rep.Previous && r.Image == m.spec.Image {
			m.rep.New, found = r.Name, true
		}
		if r.Current {
			m.rep.Serving = r.Name
		}
	}
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

func (m *member) rollback(ctx context.Context, log *logger) {
	start := time.Now()
	defer func() { m.rep.Took += time.Since(start) }()
	note := func(s string) {
		if m.rep.Error != "" {
			s = m.rep.Error + "; " + s
		}
		m.rep.Error = s
	}
	if m.rep.Previous == "" {
		note("no previous release to roll back to: it keeps serving " + m.rep.New)
		log.printf("%s: %s", m.name, m.rep.Error)
		return
	}
	if m.isDead() {
		if err := m.reconnect(ctx); err != nil {
			m.rep.Outcome = RollbackFailed
			note(fmt.Sprintf("rollback to %s: reconnect: %v", m.rep.Previous, err))
			log.printf("%s: %s", m.name, m.rep.Error)
			return
		}
	}
	log.printf("%s: rolling back to %s", m.name, m.rep.Previous)
	if _, err := m.p.Rollback(ctx, m.rep.Previous); err != nil {
		m.rep.Outcome = RollbackFailed
		note(fmt.Sprintf("rollback to %s: %v", m.rep.Previous, err))
		m.learnNew(ctx)
		log.printf("%s: rollback failed: %s", m.name, firstLine(err.Error()))
		return
	}
	m.rep.Outcome, m.rep.Serving = RolledBack, m.rep.Previous
	log.printf("%s: back on %s", m.name, m.rep.Previous)
}

// fleetError says what failed and what the run did about it.
func fleetError(failure error, rep *Report) error {
	var rolled, untouched, stuck []string
	for _, h := range rep.Hosts {
		switch {
		case h.Outcome == RolledBack:
			rolled = append(rolled, h.Host)
		case h.Outcome == Untouched:
			untouched = append(untouched, h.Host)
		case h.Outcome == RollbackFailed, h.Outcome == Deployed, h.Serving != h.Previous:
			stuck = append(stuck, h.Host)
		}
	}
	msg := "fleet deploy stopped: " + failure.Error()
	if len(rolled) > 0 {
		msg += fmt.Sprintf("; rolled back to their previous releases: %s", strings.Join(rolled, ", "))
	}
	if len(untouched) > 0 {
		msg += fmt.Sprintf("; untouched: %s", strings.Join(untouched, ", "))
	}
	if len(stuck) > 0 {
		msg += fmt.Sprintf("; NOT BACK ON THEIR PREVIOUS RELEASE: %s (see the report)", strings.Join(stuck, ", "))
	}
	return errors.New(msg)
}

// forEach runs fn on every member, at most limit at a time.
func forEach(members []*member, limit int, fn func(*member)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		sem <- struct{}{}
		go func(m *member) {
			defer func() { <-sem; wg.Done() }()
			fn(m)
		}(m)
	}
	wg.Wait()
}

// logger writes progress lines from concurrent hosts without interleaving.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogger(w io.Writer) *logger { return &logger{w: w} }

func (l *logger) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, format+"\n", args...)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
