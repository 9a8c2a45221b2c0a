package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// StrategyRecreate replaces the app's container in place: compose
// recreates the service, so the app is briefly down, and a release that
// fails its gate serves (badly) until the previous one is brought back.
// It is the default, and what records from before strategies ran.
const StrategyRecreate Strategy = "recreate"

// recreate is StrategyRecreate. It keeps no part of its own in the
// record: the app's own compose project runs the release.
type recreate struct{}

func (recreate) name() Strategy { return StrategyRecreate }

func (recreate) describe() string { return string(StrategyRecreate) }

func (recreate) label(host.Record) string { return string(StrategyRecreate) }

func (recreate) serving(a *host.App, _ host.Record) *host.App { return a }

func (recreate) status(context.Context, *host.App, host.Record, *State) error { return nil }

func (recreate) check(spec Spec) error {
	if spec.Proxy.given() {
		return errProxyNeedsBlueGreen(spec.App, StrategyRecreate)
	}
	return nil
}

// takeOver deploys in place over a recreate release (or a new app), and
// leaves the proxy (leaveproxy.go) when a blue-green one runs.
func (r recreate) takeOver(spec Spec, _ host.Record, from strategy) (deployRun, Spec, error) {
	if err := r.check(spec); err != nil {
		return nil, spec, err
	}
	switch from.(type) {
	case recreate:
		return r, spec, nil
	case blueGreen:
		return leaveProxy{}, spec, nil
	}
	return nil, spec, fmt.Errorf("%s runs %s: goship cannot move it to %s", spec.App, from.name(), StrategyRecreate)
}

func (recreate) maintenance(_ context.Context, a *host.App, rec host.Record, _ *proxy.Maintenance) (string, error) {
	return "", fmt.Errorf("%s on %s runs without the proxy (%s, %s): maintenance needs the blue-green proxy, which can answer for the app while it runs: deploy it with with-%s first",
		a.Name(), a.Target(), rec.Name, StrategyRecreate, StrategyBlueGreen)
}

// abandon stops a first deploy cut off: like a failed first deploy, it
// leaves nothing running. Otherwise restore starts the current release
// again over whatever the cut deploy left.
func (recreate) abandon(ctx context.Context, a *host.App, pending host.Record, first bool) bool {
	if !first {
		return false
	}
	_ = a.Down(ctx, pending.Name)
	return true
}

func (r recreate) deploy(ctx context.Context, d *deployment) (*Result, error) {
	spec := d.spec
	rec := newRecord(spec, d.existing, r)
	rec.HealthPath, rec.HealthHost, rec.HealthPort = spec.Health.Path, spec.Health.Host, spec.Health.Port
	log := deployJournal(ctx, d.a, spec, &rec)
	log.start()
	image, err := stage(ctx, d.a, spec, &rec, Compose)
	if err != nil {
		log.end(outcome.Unchanged, err)
		return unchanged(), err
	}
	if err := migrate(ctx, d, &rec, func(args string) string { return d.a.ComposeCmd(rec.Name, args) }); err != nil {
		var cleanup func(context.Context)
		if d.prev.Name == "" { // the network compose run made is the new app's alone
			cleanup = func(ctx context.Context) { _ = d.a.Down(ctx, rec.Name) }
		}
		return migrationFailed(ctx, d, rec, err, log, cleanup)
	}
	if gateErr := startAndGate(ctx, d.a, rec, spec.Health); gateErr != nil {
		return recoverFrom(ctx, d.a, rec, d.prev, spec.Health, gateErr, log)
	}
	res, err := finish(ctx, d, rec, image, log)
	if err != nil {
		return res, err
	}
	res.Pruned, _ = d.a.Prune(ctx, spec.Keep)
	res.Took = time.Since(d.start)
	return res, nil
}

// startAndGate brings the release up and waits for it to be healthy.
func startAndGate(ctx context.Context, a *host.App, rec host.Record, h host.Health) error {
	before := a.Snapshot(ctx, rec.Name)
	if err := a.Up(ctx, rec.Name); err != nil {
		return &host.GateError{Check: "compose up: " + err.Error(), Err: err}
	}
	return a.Gate(ctx, rec.Name, rec.ImageID, h, before)
}

// recoverFrom rolls back to prev (zero when there is none) after a failed
// gate and builds the error. The outcome is RolledBack only when prev is
// healthy again.
func recoverFrom(ctx context.Context, a *host.App, rec, prev host.Record, h host.Health, gateErr error, log journal) (*Result, error) {
	// The deploy's own context may be what failed; recovery must still run.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.Timeout+2*time.Minute)
	defer cancel()
	logs := lastLogs(rctx, a, rec.Name)
	rec.Outcome, rec.Error = outcome.ReleaseFailed, gateErr.Error()
	_ = a.SaveRecord(rctx, rec)

	res := &Result{Release: rec.Name, Image: rec.Image, Previous: prev.Name, Outcome: outcome.Failed}
	var done string
	if prev.Name == "" {
		_ = a.Down(rctx, rec.Name)
		done = "no previous release to roll back to; the failed release was stopped"
	} else {
		// The previous release is judged by its own gate: the new one may
		// have changed the port or path, and whatever listens there now
		// says nothing about the previous release.
		err := startAndGate(rctx, a, prev, host.GateOf(prev, h))
		var gerr *host.GateError
		switch {
		case errors.As(err, &gerr) && strings.HasPrefix(gerr.Check, "compose up: "):
			done = fmt.Sprintf("ROLLBACK TO %s FAILED: %v", prev.Name, strings.TrimPrefix(gerr.Check, "compose up: "))
		case err != nil:
			done = fmt.Sprintf("rolled back to %s, but it is not healthy either: %v", prev.Name, err)
		default:
			done = "rolled back to " + prev.Name + ", which is serving"
			res.Outcome = outcome.RolledBack
		}
		if res.Schema = schemaNotBack(rec, prev.Name); res.Schema != "" {
			done += "; " + res.Schema
		}
	}
	log.end(res.Outcome, fmt.Errorf("health gate: %w; %s", gateErr, done))
	return res, failedGate(rec.Name, gateErr, done, logs)
}

// rollback starts the target in place of the current release; if it
// fails its gate, the current one is started again.
func (recreate) rollback(ctx context.Context, r *rollbackJob) (*Result, error) {
	a, target, cur := r.a, r.target, r.cur
	log := rollbackJournal(ctx, a, &target, r.who)
	log.start()
	if gateErr := startAndGate(ctx, a, target, r.h); gateErr != nil {
		logs := lastLogs(ctx, a, target.Name)
		res := &Result{Release: target.Name, Image: target.Image, Previous: cur.Name, Outcome: outcome.Failed}
		err := fmt.Errorf("rollback to %s failed: %w", target.Name, gateErr)
		if cur.Name != "" {
			if startAndGate(ctx, a, cur, r.curGate) == nil {
				err = fmt.Errorf("%w; %s is serving again", err, cur.Name)
				res.Outcome = outcome.RolledBack
			} else {
				err = fmt.Errorf("%w; %s, which was current, is not healthy either", err, cur.Name)
			}
		}
		log.end(res.Outcome, err)
		return res, fmt.Errorf("%w\nlast 50 log lines of %s:\n%s", err, target.Name, strings.TrimRight(logs, "\n"))
	}
	if err := a.SwitchCurrent(ctx, target.Name); err != nil {
		log.end(outcome.Failed, err)
		return &Result{Release: target.Name, Previous: cur.Name, Outcome: outcome.Failed}, err
	}
	log.end(outcome.Succeeded, nil)
	return &Result{Release: target.Name, Image: target.Image, Previous: cur.Name, Took: time.Since(r.start), Outcome: outcome.Succeeded}, nil
}

func (recreate) verify(ctx context.Context, a *host.App, cur host.Record, h host.Health) error {
	return a.Gate(ctx, cur.Name, cur.ImageID, h, nil)
}

func (recreate) restore(ctx context.Context, a *host.App, cur host.Record, h host.Health) (bool, error) {
	if _, st, err := a.ServiceState(ctx, cur.Name); err == nil && st.Status == "running" && st.Image == cur.ImageID {
		return false, nil
	}
	return true, startAndGate(ctx, a, cur, h)
}
