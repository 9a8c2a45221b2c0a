package compose

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// blueGreen starts the new release beside the running one behind the
// shared proxy, gates it directly and only then switches the proxy to it
// (see colors.go). migrating: the running release is a recreate one,
// which hands its public port to the proxy at the switch.
type blueGreen struct {
	migrating bool
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
	if err := b.check(ctx, s, px, r); err != nil {
		return unchanged(), err
	}
	serving := prevRec.Color // empty when migrating or new
	rec := newRecord(spec, d.existing, StrategyBlueGreen)
	rec.HealthPath, rec.HealthPort = spec.Health.Path, spec.ContainerPort
	rec.Color, rec.Proxy = otherColor(serving), &pr
	logEvent := deployLog(ctx, s, spec, &rec)
	logEvent("started", nil)
	image, err := stage(ctx, s, spec, &rec, BlueGreenCompose)
	if err != nil {
		logEvent("failed", err)
		return unchanged(), err
	}
	// The color's network that compose run may have made stays: the
	// color's kept container (a rollback target) may be on it.
	if err := migrate(ctx, d, &rec, func(args string) string { return colorCompose(s, rec.Name, rec.Color, args) }); err != nil {
		return migrationFailed(ctx, d, rec, err, logEvent, nil)
	}

	// The new release starts beside the serving one, which never stops
	// serving while the new one is gated.
	if gateErr := startColor(ctx, s, rec, pr.Name, spec.ContainerPort, spec.Health); gateErr != nil {
		return dropFailed(ctx, s, rec, prevRec.Name, gateErr, logEvent)
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
		return px.Switch(ctx, blueGreenRoute(spec.App, pr, rec, spec.ContainerPort), spec.Who, handover)
	}); err != nil {
		if stoppedOld != "" {
			_, _ = s.Run(context.WithoutCancel(ctx), "restart "+prevRec.Name, "docker start "+host.Q(stoppedOld), nil)
		}
		res, ferr := dropFailed(ctx, s, rec, prevRec.Name, fmt.Errorf("switch the proxy: %w", err), logEvent)
		if stoppedOld != "" && res.Outcome == outcome.Unchanged {
			res.Outcome = outcome.RolledBack // it stopped, and started again
		}
		return res, ferr
	}
	res, err := finish(ctx, d, rec, image, logEvent)
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

// check fails when the proxy cannot take the app: its dir, a route
// conflict, or its port held by something other than the app migrating.
func (b blueGreen) check(ctx context.Context, s *host.App, px *proxy.Proxy, r proxy.Route) error {
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
// previous one was never touched and still serves: Unchanged, or Failed
// when there was none.
func dropFailed(ctx context.Context, s *host.App, rec host.Record, prev string, gateErr error, logEvent func(string, error)) (*Result, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	logs := lastLogs(rctx, inColor(s, rec.Color), rec.Name)
	removeColor(rctx, s, rec.Name, rec.Color)
	rec.Outcome, rec.Error = host.OutcomeFailed, gateErr.Error()
	_ = s.SaveRecord(rctx, rec)
	res := &Result{Release: rec.Name, Image: rec.Image, Previous: prev, Outcome: outcome.Unchanged}
	done := "the failed release was removed; " + prev + " kept serving throughout"
	if prev == "" {
		done, res.Outcome = "the failed release was removed; nothing was serving before", outcome.Failed
	}
	if res.Schema = schemaNotBack(rec, prev); res.Schema != "" {
		done += "; " + res.Schema
	}
	logEvent("rolled-back", fmt.Errorf("health gate: %w; %s", gateErr, done))
	return res, failedGate(rec.Name, gateErr, done, logs)
}

// rollback starts the target in the color that is not serving (its kept
// container is started again when it is still there), gates it directly,
// and switches the proxy to it. The current color serves throughout.
func (blueGreen) rollback(ctx context.Context, r *rollbackJob) (*Result, error) {
	s, rec, curRec, h := r.a, r.target, r.cur, r.h
	if curRec.Proxy == nil {
		return unchanged(), fmt.Errorf("release %s runs blue-green but records no proxy", curRec.Name)
	}
	pr := *curRec.Proxy
	port := rec.HealthPort
	if port == 0 {
		port = DefaultContainerPort
	}
	rec.Color = otherColor(curRec.Color)
	entry := rollbackLog(ctx, s, &rec, r.who)
	entry("started", nil)
	res := &Result{Release: rec.Name, Image: rec.Image, Previous: curRec.Name, Outcome: outcome.Unchanged}
	if gateErr := startColor(ctx, s, rec, pr.Name, port, h); gateErr != nil {
		rctx := context.WithoutCancel(ctx)
		logs := lastLogs(rctx, inColor(s, rec.Color), rec.Name)
		removeColor(rctx, s, rec.Name, rec.Color)
		err := fmt.Errorf("rollback to %s failed: %w; %s kept serving throughout", rec.Name, gateErr, curRec.Name)
		entry("failed", err)
		return res, fmt.Errorf("%w\nlast 50 log lines of %s:\n%s", err, rec.Name, strings.TrimRight(logs, "\n"))
	}
	if err := withinDeadline(ctx, s, "proxy switch to "+rec.Name, s.Timeouts().Switch, func(ctx context.Context) error {
		return proxy.On(s, pr).Switch(ctx, blueGreenRoute(rec.App, pr, rec, port), r.who, nil)
	}); err != nil {
		removeColor(context.WithoutCancel(ctx), s, rec.Name, rec.Color)
		err = fmt.Errorf("rollback to %s: switch the proxy: %w; %s kept serving", rec.Name, err, curRec.Name)
		entry("failed", err)
		return res, err
	}
	if err := s.SwitchCurrent(ctx, rec.Name); err != nil {
		res.Outcome = outcome.Failed
		return res, err
	}
	_ = s.SaveRecord(ctx, rec)
	entry("succeeded", nil)
	curPort := curRec.HealthPort
	if curPort == 0 {
		curPort = port
	}
	drainAndStop(ctx, s, curRec.Name, curRec.Color, curPort, pr.Drain)
	res.Outcome, res.Took = outcome.Succeeded, time.Since(r.start)
	return res, nil
}

func (blueGreen) verify(ctx context.Context, a *host.App, cur host.Record, h host.Health) error {
	if cur.Proxy == nil {
		return fmt.Errorf("release %s runs blue-green but records no proxy", cur.Name)
	}
	return gateColor(ctx, a, cur, cur.Proxy.Name, cur.HealthPort, h, nil)
}

func (blueGreen) restore(ctx context.Context, a *host.App, cur host.Record, h host.Health) (bool, error) {
	if cur.Proxy == nil {
		return false, fmt.Errorf("release %s runs blue-green but records no proxy", cur.Name)
	}
	if _, st, err := inColor(a, cur.Color).ServiceState(ctx, cur.Name); err == nil && st.Status == "running" && st.Image == cur.ImageID {
		return false, nil
	}
	return true, startColor(ctx, a, cur, cur.Proxy.Name, cur.HealthPort, h)
}
