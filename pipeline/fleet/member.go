package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// relockWait is how long a reconnect waits for the lock a cut connection
// held to be let go by the server.
const relockWait = 15 * time.Second

// member is one host during a run.
type member struct {
	cfg  sshconn.Config
	name string
	spec compose.Spec
	c    *sshconn.Client
	p    *compose.Prepared
	dead chan struct{} // closed when c's connection ends
	rep  *HostReport
	// errs are the host's failure and what the run did about it, in
	// order; rep.Error is their text.
	errs []error
	// ran: its deploy ran in this run; rolledBack: the run took it back
	// after another host failed.
	ran, rolledBack bool
}

// fail adds err to the host's failure and its report line.
func (m *member) fail(err error) {
	m.errs = append(m.errs, err)
	m.rep.Error = m.failure().Error()
}

// failure is the host's error: its own when nothing was added to it,
// else every step, each reachable by errors.Is and errors.As.
func (m *member) failure() error {
	switch len(m.errs) {
	case 0:
		return nil
	case 1:
		return m.errs[0]
	}
	return steps(m.errs)
}

// prepare connects, preflights and takes the lock.
func (m *member) prepare(ctx context.Context) error {
	c, err := sshconn.Dial(ctx, m.cfg)
	if err != nil {
		return err
	}
	p, err := compose.Prepare(ctx, c, m.spec)
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
		if err == nil || !errors.Is(err, host.ErrLocked) || time.Now().After(deadline) {
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
			m.rep.Outcome, m.rep.Serving = outcome.Failed, "" // its state is unknown
			m.fail(fmt.Errorf("connection lost before its turn; reconnecting failed: %w", err))
			return
		}
		if cur := m.p.Current(); cur != m.rep.Previous {
			m.rep.Serving = cur
			m.fail(fmt.Errorf("connection lost before its turn; meanwhile another deploy made %s current (was %s)", orNone(cur), orNone(m.rep.Previous)))
			return
		}
		log.printf("%s: connection lost while waiting; reconnected and locked again", m.name)
	}
	log.printf("%s: deploying %s", m.name, m.spec.Image)
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The watcher gets this connection's channel, not the field: a
	// reconnect below replaces m.dead while the watcher may still run.
	go func(dead <-chan struct{}) {
		select {
		case <-dead: // a dead connection fails the deploy now, not at the gate's timeout
			cancel()
		case <-dctx.Done():
		}
	}(m.dead)
	m.ran = true
	res, err := m.p.Deploy(dctx)
	if res != nil && res.Schema != "" {
		m.rep.Schema = res.Schema
	}
	if err == nil {
		m.rep.New, m.rep.Serving, m.rep.Outcome = res.Release, res.Release, outcome.Succeeded
		log.printf("%s: deployed %s (%s) in %s", m.name, res.Release, res.Strategy, res.Took.Round(100*time.Millisecond))
		return
	}
	m.rep.Outcome = outcome.Failed
	if res != nil && res.Outcome != "" && res.Outcome != outcome.Succeeded {
		m.rep.Outcome = res.Outcome
	}
	if !m.isDead() {
		m.fail(err)
		log.printf("%s: deploy failed: %s", m.name, firstLine(err.Error()))
		m.learnNew(ctx)
		return
	}
	log.printf("%s: connection lost mid-deploy; reconnecting to restore %s", m.name, orNone(m.rep.Previous))
	rctx := context.WithoutCancel(ctx)
	m.rep.Outcome = outcome.Failed // until the restore says otherwise
	cut := &cutOffError{Err: err}
	if rerr := m.reconnect(rctx); rerr != nil {
		m.rep.Serving = ""
		cut.Did, cut.Then = "reconnecting failed, so its state is unknown: check it with status", rerr
		m.fail(cut)
		log.printf("%s: %s", m.name, m.rep.Error)
		return
	}
	restarted, rerr := m.p.Restore(rctx)
	m.learnNew(rctx)
	switch {
	case rerr != nil:
		m.rep.Serving = ""
		cut.Did, cut.Then = fmt.Sprintf("its own rollback could not run; reconnected, but restoring %s failed", m.rep.Previous), rerr
	case restarted:
		m.rep.Outcome = outcome.RolledBack
		cut.Did = fmt.Sprintf("its own rollback could not run; reconnected and brought %s back", m.rep.Previous)
	default:
		m.rep.Outcome = outcome.Unchanged
		cut.Did = fmt.Sprintf("reconnected: %s was still serving", m.rep.Previous)
	}
	m.fail(cut)
	log.printf("%s: %s", m.name, m.rep.Error)
}

// learnNew finds the name of the release a failed deploy created, for
// the report.
func (m *member) learnNew(ctx context.Context) {
	if m.c == nil {
		return
	}
	recs, err := compose.Releases(ctx, m.c, m.spec.App, m.spec.AppDir)
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

func (m *member) rollback(ctx context.Context, log *logger) {
	start := time.Now()
	defer func() { m.rep.Took += time.Since(start) }()
	if m.rep.Previous == "" {
		m.fail(fmt.Errorf("no previous release to roll back to: it keeps serving %s", m.rep.New))
		log.printf("%s: %s", m.name, m.rep.Error)
		return
	}
	if m.isDead() {
		if err := m.reconnect(ctx); err != nil {
			m.rep.Outcome = outcome.Failed
			m.fail(fmt.Errorf("rollback to %s: reconnect: %w", m.rep.Previous, err))
			log.printf("%s: %s", m.name, m.rep.Error)
			return
		}
	}
	log.printf("%s: rolling back to %s", m.name, m.rep.Previous)
	res, err := m.p.Rollback(ctx, m.rep.Previous)
	if res != nil && res.Schema != "" {
		m.rep.Schema = res.Schema
		log.printf("%s: %s", m.name, res.Schema)
	}
	if err != nil {
		m.rep.Outcome = outcome.Failed
		m.fail(fmt.Errorf("rollback to %s: %w", m.rep.Previous, err))
		m.learnNew(ctx)
		log.printf("%s: rollback failed: %s", m.name, firstLine(err.Error()))
		return
	}
	m.rep.Outcome, m.rep.Serving, m.rolledBack = outcome.RolledBack, m.rep.Previous, true
	log.printf("%s: back on %s", m.name, m.rep.Previous)
}
