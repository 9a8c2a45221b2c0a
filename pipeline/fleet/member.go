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
	err  error // the host's own failure, kept whole for a fleet of one
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
			m.rep.Outcome, m.rep.Error = Untouched, "connection lost before its turn; reconnecting failed: "+err.Error()
			m.rep.Ended = outcome.Failed // its state is unknown
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
	if res != nil && res.Schema != "" {
		m.rep.Schema = res.Schema
	}
	if err == nil {
		m.rep.New, m.rep.Serving, m.rep.Outcome, m.rep.Ended = res.Release, res.Release, Deployed, outcome.Succeeded
		log.printf("%s: deployed %s (%s) in %s", m.name, res.Release, res.Strategy, res.Took.Round(100*time.Millisecond))
		return
	}
	m.rep.Outcome, m.rep.Error, m.rep.Ended, m.err = Failed, err.Error(), outcome.Failed, err
	if res != nil && res.Outcome != "" {
		m.rep.Ended = res.Outcome
	}
	if !m.isDead() {
		log.printf("%s: deploy failed: %s", m.name, firstLine(err.Error()))
		m.learnNew(ctx)
		return
	}
	log.printf("%s: connection lost mid-deploy; reconnecting to restore %s", m.name, orNone(m.rep.Previous))
	rctx := context.WithoutCancel(ctx)
	m.rep.Ended = outcome.Failed // until the restore says otherwise
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
		m.rep.Ended = outcome.RolledBack
		m.rep.Error = fmt.Sprintf("connection lost mid-deploy, so its own rollback could not run (%s); reconnected and brought %s back", firstLine(err.Error()), m.rep.Previous)
	default:
		m.rep.Ended = outcome.Unchanged
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
			m.rep.Outcome, m.rep.Ended = RollbackFailed, outcome.Failed
			note(fmt.Sprintf("rollback to %s: reconnect: %v", m.rep.Previous, err))
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
		m.rep.Outcome, m.rep.Ended = RollbackFailed, outcome.Failed
		note(fmt.Sprintf("rollback to %s: %v", m.rep.Previous, err))
		m.learnNew(ctx)
		log.printf("%s: rollback failed: %s", m.name, firstLine(err.Error()))
		return
	}
	m.rep.Outcome, m.rep.Serving, m.rep.Ended = RolledBack, m.rep.Previous, outcome.RolledBack
	log.printf("%s: back on %s", m.name, m.rep.Previous)
}

// failure is why a fleet of one failed: the deploy's own error when
// nothing was added to it, else everything the run noted.
func (m *member) failure() error {
	if m.err != nil && m.err.Error() == m.rep.Error {
		return m.err
	}
	return errors.New(m.rep.Error)
}
