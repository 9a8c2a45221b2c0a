package compose

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// StrategyBlueGreen starts the new release beside the running one
// behind a shared reverse proxy, gates it directly and only then
// switches the proxy to it.
const StrategyBlueGreen Strategy = "blue-green"

// blueGreen is StrategyBlueGreen (see colors.go). As a deploy,
// migrating: the running release is a recreate one, which hands its
// public port to the proxy at the switch; live is the color of the
// blue-green release running now ("" when there is none).
type blueGreen struct {
	migrating bool
	live      string
}

// blueGreenState is blue-green's part of a release's record: the color
// it last ran as and the proxy that serves it. Records from before
// strategies owned their part kept both at the top level under the same
// names (host.Record reads them into its StrategyState).
type blueGreenState struct {
	Color string        `json:"color"`
	Proxy *proxy.Record `json:"proxy,omitempty"`
}

// stateOf is rec's color and proxy; a record without a proxy cannot be
// switched, rolled back or checked.
func (blueGreen) stateOf(rec host.Record) (blueGreenState, error) {
	var st blueGreenState
	if err := readState(rec, &st); err != nil {
		return st, err
	}
	if st.Proxy == nil {
		return st, fmt.Errorf("release %s runs %s but records no proxy", rec.Name, StrategyBlueGreen)
	}
	return st, nil
}

func (blueGreen) name() Strategy { return StrategyBlueGreen }

func (blueGreen) check(Spec) error { return nil }

// takeOver keeps the proxy of a blue-green release running (each
// setting unless spec gives one), and migrates a recreate one.
func (b blueGreen) takeOver(spec Spec, prev host.Record, from strategy) (deployRun, Spec, error) {
	run := blueGreen{}
	switch from.(type) {
	case blueGreen:
		st, err := b.stateOf(prev)
		if err != nil {
			return nil, spec, err
		}
		pr, p := st.Proxy, &spec.Proxy
		p.Name, p.Root, p.Image, p.Host = or(p.Name, pr.Name), or(p.Root, pr.Root), or(p.Image, pr.Image), or(p.Host, pr.Host)
		if p.Drain == 0 {
			p.Drain = pr.Drain
		}
		run.live = st.Color
	case recreate:
		run.migrating = prev.Name != ""
	default:
		return nil, spec, fmt.Errorf("%s runs %s: goship cannot move it to %s", spec.App, from.name(), StrategyBlueGreen)
	}
	var err error
	spec.Proxy, err = spec.Proxy.withDefaults()
	return run, spec, err
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func (b blueGreen) label(rec host.Record) string {
	var st blueGreenState
	if readState(rec, &st) != nil || st.Color == "" {
		return string(StrategyBlueGreen)
	}
	return string(StrategyBlueGreen) + ", color " + st.Color
}

// serving is the color's compose project (<app>-<color>).
func (blueGreen) serving(a *host.App, rec host.Record) *host.App {
	var st blueGreenState
	if readState(rec, &st) != nil || st.Color == "" {
		return a
	}
	return inColor(a, st.Color)
}

// status adds what the proxy does for the app: maintenance and HTTPS.
func (b blueGreen) status(ctx context.Context, a *host.App, rec host.Record, st *State) error {
	bg, err := b.stateOf(rec)
	if err != nil {
		return err
	}
	as, err := proxy.On(a, *bg.Proxy).AppStatus(ctx, a.Name())
	if err != nil {
		return err
	}
	st.Proxy = &as
	return nil
}

// maintenance has the proxy answer for the app while its colors run.
func (b blueGreen) maintenance(ctx context.Context, a *host.App, rec host.Record, m *proxy.Maintenance) (string, error) {
	bg, err := b.stateOf(rec)
	if err != nil {
		return "", err
	}
	if err := proxy.On(a, *bg.Proxy).SetMaintenance(ctx, a.Name(), m); err != nil {
		return "", err
	}
	if m == nil {
		return fmt.Sprintf("%s: maintenance off for %s: requests reach the serving color again", a.Target(), a.Name()), nil
	}
	return fmt.Sprintf("%s: maintenance ON for %s: every request answers 503 (Retry-After %s); the containers keep running", a.Target(), a.Name(), m.RetryAfter), nil
}

// abandon removes the pending release's color: it never served, since
// the proxy switches only after the gate.
func (b blueGreen) abandon(ctx context.Context, a *host.App, pending host.Record, _ bool) bool {
	var st blueGreenState
	if readState(pending, &st) == nil && st.Color != "" {
		removeColor(ctx, a, pending.Name, st.Color)
	}
	return false
}

func (b blueGreen) describe() string {
	if b.migrating {
		return string(StrategyRecreate) + " → " + string(StrategyBlueGreen)
	}
	return string(StrategyBlueGreen)
}

func (b blueGreen) deploy(ctx context.Context, d *deployment) (*Result, error) {
	s, spec, prevRec := d.a, d.spec, d.prev
	pr := spec.proxyRecord()
	px := proxy.On(s, pr).WithTLS(spec.Proxy.TLS)
	r := proxy.Route{App: spec.App, Bind: pr.Bind, Port: pr.Port, Host: pr.Host}

	// Everything that can be checked is checked before anything changes.
	if err := b.checkProxy(ctx, s, px, r); err != nil {
		return unchanged(), err
	}
	serving := b.live // empty when migrating or new
	rec := newRecord(spec, d.existing, b)
	rec.HealthPath, rec.HealthPort = spec.Health.Path, spec.ContainerPort
	color := otherColor(serving)
	writeState(&rec, b, blueGreenState{Color: color, Proxy: &pr})
	log := deployJournal(ctx, s, spec, &rec)
	log.start()
	image, err := stage(ctx, s, spec, &rec, BlueGreenCompose)
	if err != nil {
		log.end(outcome.Unchanged, err)
		return unchanged(), err
	}
	// The color's network that compose run may have made stays: the
	// color's kept container (a rollback target) may be on it.
	if err := migrate(ctx, d, &rec, func(args string) string { return colorCompose(s, rec.Name, color, args) }); err != nil {
		return migrationFailed(ctx, d, rec, err, log, nil)
	}

	// The new release starts beside the serving one, which never stops
	// serving while the new one is gated.
	if gateErr := startColor(ctx, s, rec, color, pr.Name, spec.ContainerPort, spec.Health); gateErr != nil {
		return dropFailed(ctx, s, rec, color, prevRec.Name, gateErr, false, log)
	}
	var handover func(context.Context) error
	var stoppedOld string
	if b.migrating {
		// The recreate container holds the public port: it stops, the
		// proxy takes the port. This is the one switch-over with a gap.
		handover = func(ctx context.Context) error {
			id, err := s.ContainerID(ctx, prevRec.Name)
			if err != nil {
				return nil // nothing holds the port
			}
			if _, err := s.Run(ctx, "stop "+prevRec.Name, "docker stop -t 15 "+host.Q(id), nil); err != nil {
				return fmt.Errorf("stop %s to hand its port to the proxy: %w", prevRec.Name, err)
			}
			stoppedOld = id
			return nil
		}
	}
	if err := withinDeadline(ctx, s, "proxy switch to "+rec.Name, spec.Timeouts.Switch, func(ctx context.Context) error {
		return px.Switch(ctx, blueGreenRoute(spec.App, pr, rec.Name, color, spec.ContainerPort), spec.Who, handover)
	}); err != nil {
		if stoppedOld != "" {
			_, _ = s.Run(context.WithoutCancel(ctx), "restart "+prevRec.Name, "docker start "+host.Q(stoppedOld), nil)
		}
		// A stopped recreate release that started again went back.
		return dropFailed(ctx, s, rec, color, prevRec.Name, fmt.Errorf("switch the proxy: %w", err), stoppedOld != "", log)
	}
	res, err := finish(ctx, d, rec, image, log)
	if err != nil {
		return res, err
	}
	switch {
	case serving != "":
		oldPort := prevRec.HealthPort
		if oldPort == 0 {
			oldPort = spec.ContainerPort
		}
		drainAndStop(ctx, s, prevRec.Name, serving, oldPort, pr.Drain)
	case b.migrating:
		_ = s.Down(ctx, prevRec.Name)
	}
	res.Pruned, _ = s.Prune(ctx, spec.Keep)
	res.Took = time.Since(d.start)
	return res, nil
}

// checkProxy fails when the proxy cannot take the app: its dir, a route
// conflict, or its port held by something other than the app migrating.
func (b blueGreen) checkProxy(ctx context.Context, s *host.App, px *proxy.Proxy, r proxy.Route) error {
	if err := px.Prepare(ctx); err != nil {
		return err
	}
	routes, err := px.Routes(ctx)
	if err != nil {
		return err
	}
	if err := px.Conflict(routes, r); err != nil {
		return err
	}
	id, _, _, err := px.Container(ctx, r.Port)
	if err != nil || id != "" {
		return err
	}
	holder, own, err := px.PortHolder(ctx, r)
	if err != nil {
		return err
	}
	if holder != "" && (!own || !b.migrating) {
		return fmt.Errorf("proxy port %d on %s is taken by %s: free it or publish the app on another port", r.Port, s.Target(), holder)
	}
	return nil
}

// dropFailed removes a release that failed its gate or switch; the
// previous one was never touched and still serves: Unchanged
// (RolledBack when it was stopped for the switch and restarted), or
// Failed when there was none.
func dropFailed(ctx context.Context, s *host.App, rec host.Record, color, prev string, gateErr error, restarted bool, log journal) (*Result, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	logs := lastLogs(rctx, inColor(s, color), rec.Name)
	removeColor(rctx, s, rec.Name, color)
	rec.Outcome, rec.Error = outcome.ReleaseFailed, gateErr.Error()
	_ = s.SaveRecord(rctx, rec)
	res := &Result{Release: rec.Name, Image: rec.Image, Previous: prev, Outcome: outcome.Unchanged}
	done := "the failed release was removed; " + prev + " kept serving throughout"
	switch {
	case prev == "":
		done, res.Outcome = "the failed release was removed; nothing was serving before", outcome.Failed
	case restarted:
		done, res.Outcome = "the failed release was removed; "+prev+" was started again", outcome.RolledBack
	}
	if res.Schema = schemaNotBack(rec, prev); res.Schema != "" {
		done += "; " + res.Schema
	}
	log.end(res.Outcome, fmt.Errorf("health gate: %w; %s", gateErr, done))
	return res, failedGate(rec.Name, gateErr, done, logs)
}

// rollback starts the target in the color that is not serving (its kept
// container is started again when it is still there), gates it directly,
// and switches the proxy to it. The current color serves throughout.
func (b blueGreen) rollback(ctx context.Context, r *rollbackJob) (*Result, error) {
	s, rec, curRec, h := r.a, r.target, r.cur, r.h
	cur, err := b.stateOf(curRec)
	if err != nil {
		return unchanged(), err
	}
	pr := *cur.Proxy
	port := rec.HealthPort
	if port == 0 {
		port = project.DefaultPort
	}
	var target blueGreenState
	if err := readState(rec, &target); err != nil {
		return unchanged(), err
	}
	color := otherColor(cur.Color)
	target.Color = color
	writeState(&rec, b, target)
	log := rollbackJournal(ctx, s, &rec, r.who)
	log.start()
	res := &Result{Release: rec.Name, Image: rec.Image, Previous: curRec.Name, Outcome: outcome.Unchanged}
	if gateErr := startColor(ctx, s, rec, color, pr.Name, port, h); gateErr != nil {
		rctx := context.WithoutCancel(ctx)
		logs := lastLogs(rctx, inColor(s, color), rec.Name)
		removeColor(rctx, s, rec.Name, color)
		err := fmt.Errorf("rollback to %s failed: %w; %s kept serving throughout", rec.Name, gateErr, curRec.Name)
		log.end(res.Outcome, err)
		return res, fmt.Errorf("%w\nlast 50 log lines of %s:\n%s", err, rec.Name, strings.TrimRight(logs, "\n"))
	}
	if err := withinDeadline(ctx, s, "proxy switch to "+rec.Name, s.Timeouts().Switch, func(ctx context.Context) error {
		return proxy.On(s, pr).Switch(ctx, blueGreenRoute(rec.App, pr, rec.Name, color, port), r.who, nil)
	}); err != nil {
		removeColor(context.WithoutCancel(ctx), s, rec.Name, color)
		err = fmt.Errorf("rollback to %s: switch the proxy: %w; %s kept serving", rec.Name, err, curRec.Name)
		log.end(res.Outcome, err)
		return res, err
	}
	if err := s.SwitchCurrent(ctx, rec.Name); err != nil {
		res.Outcome = outcome.Failed
		log.end(res.Outcome, err)
		return res, err
	}
	_ = s.SaveRecord(ctx, rec)
	log.end(outcome.Succeeded, nil)
	curPort := curRec.HealthPort
	if curPort == 0 {
		curPort = port
	}
	drainAndStop(ctx, s, curRec.Name, cur.Color, curPort, pr.Drain)
	res.Outcome, res.Took = outcome.Succeeded, time.Since(r.start)
	return res, nil
}

func (b blueGreen) verify(ctx context.Context, a *host.App, cur host.Record, h host.Health) error {
	st, err := b.stateOf(cur)
	if err != nil {
		return err
	}
	return gateColor(ctx, a, cur, st.Color, st.Proxy.Name, cur.HealthPort, h, nil)
}

func (b blueGreen) restore(ctx context.Context, a *host.App, cur host.Record, h host.Health) (bool, error) {
	st, err := b.stateOf(cur)
	if err != nil {
		return false, err
	}
	if _, cs, err := inColor(a, st.Color).ServiceState(ctx, cur.Name); err == nil && cs.Status == "running" && cs.Image == cur.ImageID {
		return false, nil
	}
	return true, startColor(ctx, a, cur, st.Color, st.Proxy.Name, cur.HealthPort, h)
}
