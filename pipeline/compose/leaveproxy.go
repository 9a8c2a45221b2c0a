package compose

import (
	"context"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// leaveProxy deploys with recreate when the current release runs behind
// the proxy: the port's Caddy stops, the new release publishes the port
// itself, and when it passes its gate both colors go. If it fails, the
// Caddy starts again and the old color, which kept running, serves.
// Once deployed, the release is a recreate one: rollback, verify and
// restore are recreate's.
type leaveProxy struct{ recreate }

func (leaveProxy) describe() string {
	return string(StrategyBlueGreen) + " → " + string(StrategyRecreate)
}

func (l leaveProxy) deploy(ctx context.Context, d *deployment) (*Result, error) {
	s, spec, prevRec := d.a, d.spec, d.prev
	prevState, err := blueGreen{}.stateOf(prevRec)
	if err != nil {
		return unchanged(), err
	}
	was := *prevState.Proxy
	px := proxy.On(s, was)
	// The new release must publish the port the proxy frees.
	if want := spec.proxyRecord(); want.Port != was.Port || want.Bind != was.Bind {
		return unchanged(), fmt.Errorf("moving %s back to recreate: publish it on %s:%d, the address the proxy serves it on (or keep blue-green)", spec.App, proxy.OrAll(was.Bind), was.Port)
	}
	if err := px.PortAlone(ctx, spec.App, was.Port); err != nil {
		return unchanged(), err
	}
	rec := newRecord(spec, d.existing, l.recreate)
	rec.HealthPath, rec.HealthHost, rec.HealthPort = spec.Health.Path, spec.Health.Host, spec.Health.Port
	log := deployJournal(ctx, s, spec, &rec)
	log.start()
	fail := func(err error) (*Result, error) {
		log.end(outcome.Unchanged, err)
		return unchanged(), err
	}
	image, err := stage(ctx, s, spec, &rec, Compose)
	if err != nil {
		return fail(err)
	}
	if err := migrate(ctx, d, &rec, func(args string) string { return s.ComposeCmd(rec.Name, args) }); err != nil {
		return migrationFailed(ctx, d, rec, err, log, nil)
	}
	// The container is created before the proxy lets go of the port, so
	// the gap is a docker stop and a docker start, not a compose run.
	before := s.Snapshot(ctx, rec.Name)
	if _, err := s.RunDeadline(ctx, "compose create "+rec.Name, spec.Timeouts.Up, s.ComposeCmd(rec.Name, "up --no-start --remove-orphans"), nil); err != nil {
		_ = s.Down(context.WithoutCancel(ctx), rec.Name)
		return fail(fmt.Errorf("create %s: %w", rec.Name, err))
	}
	var stopped string
	err = withinDeadline(ctx, s, "free the proxy's port", spec.Timeouts.Switch, func(ctx context.Context) (err error) {
		stopped, err = px.FreePort(ctx, spec.App, was.Port)
		return err
	})
	if err != nil {
		_ = s.Down(context.WithoutCancel(ctx), rec.Name)
		return fail(err)
	}
	if gateErr := startCreated(ctx, s, rec, spec.Health, before); gateErr != nil {
		return backToProxy(ctx, s, rec, prevRec, stopped, gateErr, log)
	}
	res, err := finish(ctx, d, rec, image, log)
	if err != nil {
		return res, err
	}
	_ = px.Remove(ctx, proxy.Route{App: spec.App, Bind: was.Bind, Port: was.Port, Host: was.Host}, stopped)
	for _, c := range []string{ColorBlue, ColorGreen} {
		removeProject(ctx, s, spec.App+"-"+c)
	}
	res.Pruned, _ = s.Prune(ctx, spec.Keep)
	res.Took = time.Since(d.start)
	return res, nil
}

// startCreated starts the container compose created for rec and gates it.
func startCreated(ctx context.Context, s *host.App, rec host.Record, h host.Health, before *host.ContainerSnap) error {
	id, err := s.ContainerID(ctx, rec.Name)
	if err != nil {
		return &host.GateError{Check: err.Error()}
	}
	if _, err := s.RunDeadline(ctx, "start "+rec.Name, s.Timeouts().Up, "docker start "+host.Q(id), nil); err != nil {
		return &host.GateError{Check: "docker start: " + err.Error(), Err: err}
	}
	return s.Gate(ctx, rec.Name, rec.ImageID, h, before)
}

// backToProxy removes the failed release and starts the stopped Caddy
// again, so the old color, which kept running, serves: RolledBack, or
// Failed when the Caddy does not start.
func backToProxy(ctx context.Context, s *host.App, rec, prevRec host.Record, stopped string, gateErr error, log journal) (*Result, error) {
	rctx := context.WithoutCancel(ctx)
	logs := lastLogs(rctx, s, rec.Name)
	_ = s.Down(rctx, rec.Name)
	res := &Result{Release: rec.Name, Image: rec.Image, Previous: prevRec.Name, Outcome: outcome.RolledBack}
	done := prevRec.Name + " serves again through the proxy"
	if stopped != "" {
		if _, err := s.Run(rctx, "restart proxy", "docker start "+host.Q(stopped), nil); err != nil {
			done, res.Outcome = "PROXY RESTART FAILED: "+err.Error(), outcome.Failed
		}
	}
	if res.Schema = schemaNotBack(rec, prevRec.Name); res.Schema != "" {
		done += "; " + res.Schema
	}
	rec.Outcome, rec.Error = outcome.ReleaseFailed, gateErr.Error()
	_ = s.SaveRecord(rctx, rec)
	log.end(res.Outcome, fmt.Errorf("health gate: %w; %s", gateErr, done))
	return res, failedGate(rec.Name, gateErr, done, logs)
}
