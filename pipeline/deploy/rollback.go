package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	Health Health
}

// Rollback brings back an earlier release, gates it, and points current
// at it. If the target fails its gate, the release that was current is
// brought back.
func Rollback(ctx context.Context, c *sshconn.Client, spec RollbackSpec) (*Result, error) {
	start := time.Now()
	s, err := serverFor(c, spec.App, spec.AppDir, spec.Service)
	if err != nil {
		return nil, err
	}
	h, err := spec.Health.withDefaults()
	if err != nil {
		return nil, err
	}
	who := spec.Who
	if who == "" {
		who = "goship"
	}
	l, err := s.begin(ctx, 0, who)
	if err != nil {
		return nil, err
	}
	defer l.release()
	return s.rollbackLocked(ctx, spec, h, who, start)
}

// rollbackLocked is Rollback once the server passed its preflight and the
// deploy lock is held; h is spec.Health with its defaults.
func (s *server) rollbackLocked(ctx context.Context, spec RollbackSpec, h Health, who string, start time.Time) (*Result, error) {
	recs, cur, err := s.history(ctx)
	if err != nil {
		return nil, err
	}
	target := spec.To
	if target == "" {
		target = previousHealthy(recs, cur)
	}
	if target == "" {
		return nil, fmt.Errorf("%w: %s has no healthy release before %q", ErrNoRollbackTarget, s.app, cur)
	}
	rec, ok := findRecord(recs, target)
	if !ok {
		return nil, fmt.Errorf("%w: no release %q of %s (see releases)", ErrNoRollbackTarget, target, s.app)
	}
	if target == cur {
		return nil, fmt.Errorf("release %s is already current", target)
	}
	// Gate the target the way it was gated when it was deployed.
	if h.Port == 0 {
		h.Port = 8080 // the default container port, published 1:1
	}
	curRec, _ := findRecord(recs, cur)
	curGate := gateOf(curRec, h)
	h = gateOf(rec, h)
	if rec.Strategy == StrategyBlueGreen || curRec.Strategy == StrategyBlueGreen {
		return s.rollbackBlueGreen(ctx, rec, curRec, h, who, start)
	}
	entry := func(outcome string, err error) {
		e := LogEntry{Time: time.Now().UTC(), Event: "rollback", Release: target, Image: rec.Image, Who: who, Outcome: outcome}
		if err != nil {
			e.Error = err.Error()
		}
		_ = s.appendLog(context.WithoutCancel(ctx), e)
	}
	entry("started", nil)
	if gateErr := s.startAndGate(ctx, rec, h); gateErr != nil {
		logs := "(no container)"
		if id, err := s.containerID(ctx, target); err == nil {
			logs = s.logs(ctx, id, 50)
		}
		err := fmt.Errorf("rollback to %s failed: %w", target, gateErr)
		if cur != "" {
			if s.startAndGate(ctx, curRec, curGate) == nil {
				err = fmt.Errorf("%w; %s is serving again", err, cur)
			} else {
				err = fmt.Errorf("%w; %s, which was current, is not healthy either", err, cur)
			}
		}
		entry("failed", err)
		return nil, fmt.Errorf("%w\nlast 50 log lines of %s:\n%s", err, target, strings.TrimRight(logs, "\n"))
	}
	if err := s.switchCurrent(ctx, target); err != nil {
		return nil, err
	}
	entry("succeeded", nil)
	return &Result{Release: target, Image: rec.Image, Previous: cur, Took: time.Since(start)}, nil
}

// State is what runs now.
type State struct {
	Release   Record
	Container string // container status: running, exited, …
	Health    string // healthy, unhealthy, starting, none
	Image     string // image ID the container runs
	Matches   bool   // the container runs the current release's image
	// Strategy is how the current release went live; Color is the
	// blue-green color serving (empty for recreate).
	Strategy Strategy
	Color    string
}

// Status reports the current release and its container.
func Status(ctx context.Context, c *sshconn.Client, app, appDir, service string) (*State, error) {
	s, err := serverFor(c, app, appDir, service)
	if err != nil {
		return nil, err
	}
	if err := s.preflight(ctx, 0); err != nil {
		return nil, err
	}
	cur, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if cur == "" {
		return nil, fmt.Errorf("%s has never been deployed to %s", app, c.Target())
	}
	rec, err := s.record(ctx, cur)
	if err != nil {
		return nil, err
	}
	st := &State{Release: rec, Container: "absent", Health: "none", Strategy: strategyOf(rec), Color: rec.Color}
	if rec.Strategy == StrategyBlueGreen {
		s = s.inColor(rec.Color)
	}
	if id, err := s.containerID(ctx, cur); err == nil {
		cs, err := s.inspect(ctx, id)
		if err != nil {
			return nil, err
		}
		st.Container, st.Health, st.Image = cs.Status, cs.Health, cs.Image
		st.Matches = cs.Image == rec.ImageID
	}
	return st, nil
}

// BreakLock ends a hung deploy's hold on the lock and says whose it was.
func BreakLock(ctx context.Context, c *sshconn.Client, app, appDir string) (LockOwner, error) {
	s, err := serverFor(c, app, appDir, "")
	if err != nil {
		return LockOwner{}, err
	}
	return s.breakLock(ctx)
}

// FormatStatus renders a State for people.
func FormatStatus(st *State) string {
	verdict := "OK"
	switch {
	case st.Container != "running":
		verdict = "DOWN"
	case !st.Matches:
		verdict = "DRIFT: the container does not run the current release's image"
	case st.Health == "unhealthy":
		verdict = "UNHEALTHY"
	}
	return fmt.Sprintf("%s: release %s (%s, version %s)\ncontainer: %s, health: %s\nstrategy: %s, serving color: %s\n",
		verdict, st.Release.Name, st.Release.Image, orDash(st.Release.Version), st.Container, st.Health, st.Strategy, orDash(st.Color))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
