package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Blue-green: each app runs as up to two compose projects, <app>-blue and
// <app>-green, on the proxy's network with no published port. A deploy
// starts the new release in the color that is not serving, gates it
// directly (HTTP through the SSH tunnel to its address on the network),
// switches the proxy, waits until the old color has finished its requests
// and stops it. The stopped container is kept: a rollback to it starts it
// again instead of creating it.

// Colors of a blue-green app.
const (
	ColorBlue  = "blue"
	ColorGreen = "green"
)

func otherColor(c string) string {
	if c == ColorBlue {
		return ColorGreen
	}
	return ColorBlue
}

// inColor is s acting on the compose project of one color.
func (s *server) inColor(color string) *server {
	cp := *s
	cp.app = s.app + "-" + color
	return &cp
}

// colorCompose runs compose for release as color.
func (s *server) colorCompose(release, color, args string) string {
	return fmt.Sprintf("cd %s && %s=%s %s -p %s -f compose.yaml %s", q(s.releaseDir(release)), colorVar, color, s.compose, q(s.app+"-"+color), args)
}

// blueGreenRoute is app's route to color, as the proxy record says.
func blueGreenRoute(app string, pr ProxyRecord, rec Record, containerPort int) route {
	return route{App: app, Bind: pr.Bind, Port: pr.Port, Host: pr.Host,
		Upstreams: []string{upstream(app, ColorBlue, containerPort), upstream(app, ColorGreen, containerPort)},
		Live:      upstream(app, rec.Color, containerPort), Release: rec.Name, Color: rec.Color}
}

// gateColor starts nothing: it gates the release running as color on its
// address on the proxy network.
func (s *server) gateColor(ctx context.Context, rec Record, network string, port int, h Health, before *containerSnap) error {
	cs := s.inColor(rec.Color)
	id, err := cs.containerID(ctx, rec.Name)
	if err != nil {
		return &gateError{check: err.Error()}
	}
	format := fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}`, network)
	out, err := s.run(ctx, "container address", "docker inspect --format "+q(format)+" "+q(id), nil)
	ip := strings.TrimSpace(out)
	if err != nil || ip == "" {
		return &gateError{check: fmt.Sprintf("container %s is not on the proxy network %s", short(id), network)}
	}
	h.Host, h.Port = ip, port
	return cs.gate(ctx, rec.Name, rec.ImageID, h, before)
}

// startColor brings a release up as rec.Color and gates it. A container
// of that color that already runs this release (stopped after an earlier
// switch) is started again instead of created.
func (s *server) startColor(ctx context.Context, rec Record, network string, port int, h Health) error {
	cs := s.inColor(rec.Color)
	before := cs.snapshot(ctx, rec.Name)
	if id, ok := s.keptContainer(ctx, rec); ok {
		if _, err := s.run(ctx, "start kept container", "docker start "+q(id), nil); err != nil {
			return &gateError{check: "docker start: " + err.Error()}
		}
	} else if _, err := s.run(ctx, "compose up "+rec.Name, s.colorCompose(rec.Name, rec.Color, "up -d --remove-orphans"), nil); err != nil {
		return &gateError{check: "compose up: " + err.Error()}
	}
	return s.gateColor(ctx, rec, network, port, h, before)
}

// keptContainer is the container of rec.Color when it was created from
// rec's own release directory and image.
func (s *server) keptContainer(ctx context.Context, rec Record) (string, bool) {
	cs := s.inColor(rec.Color)
	id, err := cs.containerID(ctx, rec.Name)
	if err != nil {
		return "", false
	}
	out, err := s.run(ctx, "inspect kept container", "docker inspect --format "+q(`{{.Image}} {{index .Config.Labels "com.docker.compose.project.working_dir"}}`)+" "+q(id), nil)
	if err != nil {
		return "", false
	}
	f := strings.Fields(out)
	return id, len(f) == 2 && f[0] == rec.ImageID && f[1] == s.releaseDir(rec.Name)
}

// removeColor removes a color's containers (a release that failed its gate).
func (s *server) removeColor(ctx context.Context, release, color string) {
	_, _ = s.run(ctx, "compose down "+release, s.colorCompose(release, color, "down --remove-orphans"), nil)
}

// removeProject removes a compose project's containers and networks
// without its compose file (the release that created them may be pruned).
func (s *server) removeProject(ctx context.Context, project string) {
	label := q("label=com.docker.compose.project=" + project)
	script := fmt.Sprintf(`ids=$(docker ps -aq --filter %[1]s); [ -z "$ids" ] || docker rm -f $ids >/dev/null
nets=$(docker network ls -q --filter %[1]s); [ -z "$nets" ] || docker network rm $nets >/dev/null; true`, label)
	_, _ = s.run(ctx, "remove "+project, script, nil)
}

// drainAndStop waits until the old color's container has no open
// connections on its port (its last in-flight request finished), at most
// drain, then stops it gracefully. It keeps the container for rollbacks.
func (s *server) drainAndStop(ctx context.Context, release, color string, port int, drain time.Duration) {
	id, err := s.inColor(color).containerID(ctx, release)
	if err != nil {
		return
	}
	tries := int(drain / (100 * time.Millisecond))
	// /proc/<pid>/net/tcp lists the container's sockets: state 01 is
	// ESTABLISHED, local port in hex. When it cannot be read, the app's own
	// graceful shutdown on SIGTERM is what drains.
	script := fmt.Sprintf(`pid=$(docker inspect --format '{{.State.Pid}}' %[1]s)
i=0
while [ "$pid" != 0 ] && [ -r /proc/$pid/net/tcp ] && [ $i -lt %[2]d ]; do
  n=$(cat /proc/$pid/net/tcp /proc/$pid/net/tcp6 2>/dev/null | awk '$2 ~ /:%04[3]X$/ && $4 == "01"' | wc -l)
  [ "$n" -eq 0 ] && break
  sleep 0.1; i=$((i+1))
done
docker stop -t 15 %[1]s >/dev/null`, q(id), tries, port)
	_, _ = s.run(ctx, "drain and stop "+color, script, nil)
}

// deployBlueGreen is Deploy when the new release or the current one runs
// behind the proxy. spec has its defaults; the lock is held.
func (s *server) deployBlueGreen(ctx context.Context, spec Spec, existing []Record, prev string, start time.Time) (*Result, error) {
	prevRec, _ := findRecord(existing, prev)
	spec, err := spec.resolveStrategy(prevRec)
	if err != nil {
		return nil, err
	}
	if spec.Strategy != StrategyBlueGreen && spec.Proxy.given() {
		return nil, fmt.Errorf("%s runs %s: proxy settings need --strategy=%s", spec.App, spec.Strategy, StrategyBlueGreen)
	}
	if spec.Strategy != StrategyBlueGreen {
		return s.leaveProxy(ctx, spec, existing, prevRec, start)
	}
	pr := spec.proxyRecord()
	px := s.proxy(pr)
	r := route{App: spec.App, Bind: pr.Bind, Port: pr.Port, Host: pr.Host}

	// Everything that can be checked is checked before anything changes.
	migrating := prevRec.Name != "" && prevRec.Strategy != StrategyBlueGreen
	if err := px.prepare(ctx); err != nil {
		return nil, err
	}
	routes, err := px.routes(ctx)
	if err != nil {
		return nil, err
	}
	if err := conflict(routes, r); err != nil {
		return nil, err
	}
	if id, _, _, err := px.container(ctx, r.Port); err != nil {
		return nil, err
	} else if id == "" {
		holder, own, err := px.portHolder(ctx, r)
		if err != nil {
			return nil, err
		}
		if holder != "" && (!own || !migrating) {
			return nil, fmt.Errorf("proxy port %d on %s is taken by %s: free it or publish the app on another port", r.Port, s.c.Target(), holder)
		}
	}

	serving := ""
	if prevRec.Strategy == StrategyBlueGreen {
		serving = prevRec.Color
	}
	rec := newRecord(spec, existing, StrategyBlueGreen)
	rec.HealthPath, rec.HealthPort = spec.Health.Path, spec.ContainerPort
	rec.Color, rec.Proxy = otherColor(serving), &pr
	logEvent := s.deployLog(ctx, spec, &rec)
	logEvent("started", nil)
	fail := func(err error) (*Result, error) {
		logEvent("failed", err)
		return nil, err
	}
	image, err := s.stage(ctx, spec, &rec, BlueGreenCompose)
	if err != nil {
		return fail(err)
	}

	// The new release starts beside the serving one, which never stops
	// serving while the new one is gated.
	if gateErr := s.startColor(ctx, rec, pr.Name, spec.ContainerPort, spec.Health); gateErr != nil {
		return nil, s.dropFailed(ctx, rec, prev, gateErr, logEvent)
	}
	r = blueGreenRoute(spec.App, pr, rec, spec.ContainerPort)
	var handover func(context.Context) error
	var stoppedOld string
	if migrating {
		// The recreate container holds the public port: it stops, the
		// proxy takes the port. This is the one switch-over with a gap.
		handover = func(ctx context.Context) error {
			id, err := s.containerID(ctx, prevRec.Name)
			if err != nil {
				return nil // nothing holds the port
			}
			if _, err := s.run(ctx, "stop "+prevRec.Name, "docker stop -t 15 "+q(id), nil); err != nil {
				return fmt.Errorf("stop %s to hand its port to the proxy: %w", prevRec.Name, err)
			}
			stoppedOld = id
			return nil
		}
	}
	if err := px.switchTo(ctx, r, spec.Who, handover); err != nil {
		rctx := context.WithoutCancel(ctx)
		if stoppedOld != "" {
			_, _ = s.run(rctx, "restart "+prevRec.Name, "docker start "+q(stoppedOld), nil)
		}
		return nil, s.dropFailed(ctx, rec, prev, fmt.Errorf("switch the proxy: %w", err), logEvent)
	}
	if err := s.switchCurrent(ctx, rec.Name); err != nil {
		return fail(err)
	}
	rec.Outcome = OutcomeHealthy
	_ = s.saveRecord(ctx, rec)
	logEvent("succeeded", nil)
	switch {
	case serving != "":
		oldPort := prevRec.HealthPort
		if oldPort == 0 {
			oldPort = spec.ContainerPort
		}
		s.drainAndStop(ctx, prevRec.Name, serving, oldPort, pr.Drain)
	case migrating:
		_ = s.down(ctx, prevRec.Name)
	}
	pruned, _ := s.prune(ctx, spec.Keep)
	return &Result{Release: rec.Name, Image: image, Previous: prev, Pruned: pruned, Took: time.Since(start)}, nil
}

// dropFailed removes a release that failed its gate or switch; the
// previous one was never touched and still serves.
func (s *server) dropFailed(ctx context.Context, rec Record, prev string, gateErr error, logEvent func(string, error)) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	logs := "(no container)"
	if id, err := s.inColor(rec.Color).containerID(rctx, rec.Name); err == nil {
		logs = s.logs(rctx, id, 50)
	}
	s.removeColor(rctx, rec.Name, rec.Color)
	rec.Outcome, rec.Error = OutcomeFailed, gateErr.Error()
	_ = s.saveRecord(rctx, rec)
	outcome := "the failed release was removed; nothing was serving before"
	if prev != "" {
		outcome = "the failed release was removed; " + prev + " kept serving throughout"
	}
	logEvent("rolled-back", fmt.Errorf("health gate: %w; %s", gateErr, outcome))
	return fmt.Errorf("deploy of %s failed health gate: %w; %s\nlast 50 log lines of the new container:\n%s", rec.Name, gateErr, outcome, strings.TrimRight(logs, "\n"))
}

// leaveProxy deploys with recreate when the current release runs behind
// the proxy: the port's Caddy stops, the new release publishes the port
// itself, and when it passes its gate both colors go. If it fails, the
// Caddy starts again and the old color, which kept running, serves.
func (s *server) leaveProxy(ctx context.Context, spec Spec, existing []Record, prevRec Record, start time.Time) (*Result, error) {
	if prevRec.Proxy == nil {
		return nil, fmt.Errorf("release %s runs blue-green but records no proxy", prevRec.Name)
	}
	px := s.proxy(*prevRec.Proxy)
	// The new release must publish the port the proxy frees.
	if want := spec.proxyRecord(); want.Port != prevRec.Proxy.Port || want.Bind != prevRec.Proxy.Bind {
		return nil, fmt.Errorf("moving %s back to recreate: publish it on %s:%d, the address the proxy serves it on (or keep blue-green)", spec.App, orAll(prevRec.Proxy.Bind), prevRec.Proxy.Port)
	}
	if err := px.portAlone(ctx, spec.App, prevRec.Proxy.Port); err != nil {
		return nil, err
	}
	rec := newRecord(spec, existing, StrategyRecreate)
	rec.HealthPath, rec.HealthHost, rec.HealthPort = spec.Health.Path, spec.Health.Host, spec.Health.Port
	logEvent := s.deployLog(ctx, spec, &rec)
	logEvent("started", nil)
	fail := func(err error) (*Result, error) {
		logEvent("failed", err)
		return nil, err
	}
	image, err := s.stage(ctx, spec, &rec, Compose)
	if err != nil {
		return fail(err)
	}
	// The container is created before the proxy lets go of the port, so
	// the gap is a docker stop and a docker start, not a compose run.
	before := s.snapshot(ctx, rec.Name)
	if _, err := s.run(ctx, "compose create "+rec.Name, s.composeCmd(rec.Name, "up --no-start --remove-orphans"), nil); err != nil {
		_ = s.down(context.WithoutCancel(ctx), rec.Name)
		return fail(fmt.Errorf("create %s: %w", rec.Name, err))
	}
	stopped, err := px.freePort(ctx, spec.App, prevRec.Proxy.Port)
	if err != nil {
		_ = s.down(context.WithoutCancel(ctx), rec.Name)
		return fail(err)
	}
	gateErr := func() error {
		id, err := s.containerID(ctx, rec.Name)
		if err != nil {
			return &gateError{check: err.Error()}
		}
		if _, err := s.run(ctx, "start "+rec.Name, "docker start "+q(id), nil); err != nil {
			return &gateError{check: "docker start: " + err.Error()}
		}
		return s.gate(ctx, rec.Name, rec.ImageID, spec.Health, before)
	}()
	if gateErr != nil {
		rctx := context.WithoutCancel(ctx)
		logs := "(no container)"
		if id, err := s.containerID(rctx, rec.Name); err == nil {
			logs = s.logs(rctx, id, 50)
		}
		_ = s.down(rctx, rec.Name)
		outcome := prevRec.Name + " serves again through the proxy"
		if stopped != "" {
			if _, err := s.run(rctx, "restart proxy", "docker start "+q(stopped), nil); err != nil {
				outcome = "PROXY RESTART FAILED: " + err.Error()
			}
		}
		rec.Outcome, rec.Error = OutcomeFailed, gateErr.Error()
		_ = s.saveRecord(rctx, rec)
		logEvent("rolled-back", fmt.Errorf("health gate: %w; %s", gateErr, outcome))
		return nil, fmt.Errorf("deploy of %s failed health gate: %w; %s\nlast 50 log lines of the new container:\n%s", rec.Name, gateErr, outcome, strings.TrimRight(logs, "\n"))
	}
	if err := s.switchCurrent(ctx, rec.Name); err != nil {
		return fail(err)
	}
	rec.Outcome = OutcomeHealthy
	_ = s.saveRecord(ctx, rec)
	logEvent("succeeded", nil)
	_ = px.remove(ctx, route{App: spec.App, Bind: prevRec.Proxy.Bind, Port: prevRec.Proxy.Port, Host: prevRec.Proxy.Host}, stopped)
	for _, c := range []string{ColorBlue, ColorGreen} {
		s.removeProject(ctx, spec.App+"-"+c)
	}
	pruned, _ := s.prune(ctx, spec.Keep)
	return &Result{Release: rec.Name, Image: image, Previous: prevRec.Name, Pruned: pruned, Took: time.Since(start)}, nil
}

// errCrossStrategy refuses rollbacks between strategies.
var errCrossStrategy = errors.New("rollback across strategies")

// rollbackBlueGreen is Rollback when the target or the current release
// runs behind the proxy. The target starts in the color that is not
// serving (its kept container is started again when it is still there),
// is gated directly, and the proxy switches to it.
func (s *server) rollbackBlueGreen(ctx context.Context, rec, curRec Record, h Health, who string, start time.Time) (*Result, error) {
	if rec.Strategy != curRec.Strategy {
		return nil, fmt.Errorf("%w: %s runs %s and %s ran %s: deploy %s again with --strategy=%s instead",
			errCrossStrategy, curRec.Name, strategyOf(curRec), rec.Name, strategyOf(rec), rec.Image, strategyOf(curRec))
	}
	if curRec.Proxy == nil {
		return nil, fmt.Errorf("release %s runs blue-green but records no proxy", curRec.Name)
	}
	pr := *curRec.Proxy
	port := rec.HealthPort
	if port == 0 {
		port = 8080
	}
	if rec.HealthPath != "" {
		h.Path = rec.HealthPath
	}
	rec.Color = otherColor(curRec.Color)
	entry := func(outcome string, err error) {
		e := LogEntry{Time: time.Now().UTC(), Event: "rollback", Release: rec.Name, Image: rec.Image, Who: who, Outcome: outcome,
			Strategy: StrategyBlueGreen, Color: rec.Color}
		if err != nil {
			e.Error = err.Error()
		}
		_ = s.appendLog(context.WithoutCancel(ctx), e)
	}
	entry("started", nil)
	if gateErr := s.startColor(ctx, rec, pr.Name, port, h); gateErr != nil {
		rctx := context.WithoutCancel(ctx)
		logs := "(no container)"
		if id, err := s.inColor(rec.Color).containerID(rctx, rec.Name); err == nil {
			logs = s.logs(rctx, id, 50)
		}
		s.removeColor(rctx, rec.Name, rec.Color)
		err := fmt.Errorf("rollback to %s failed: %w; %s kept serving throughout", rec.Name, gateErr, curRec.Name)
		entry("failed", err)
		return nil, fmt.Errorf("%w\nlast 50 log lines of %s:\n%s", err, rec.Name, strings.TrimRight(logs, "\n"))
	}
	if err := s.proxy(pr).switchTo(ctx, blueGreenRoute(rec.App, pr, rec, port), who, nil); err != nil {
		s.removeColor(context.WithoutCancel(ctx), rec.Name, rec.Color)
		err = fmt.Errorf("rollback to %s: switch the proxy: %w; %s kept serving", rec.Name, err, curRec.Name)
		entry("failed", err)
		return nil, err
	}
	if err := s.switchCurrent(ctx, rec.Name); err != nil {
		return nil, err
	}
	_ = s.saveRecord(ctx, rec)
	entry("succeeded", nil)
	curPort := curRec.HealthPort
	if curPort == 0 {
		curPort = port
	}
	s.drainAndStop(ctx, curRec.Name, curRec.Color, curPort, pr.Drain)
	return &Result{Release: rec.Name, Image: rec.Image, Previous: curRec.Name, Took: time.Since(start)}, nil
}

func strategyOf(r Record) Strategy {
	if r.Strategy == "" {
		return StrategyRecreate
	}
	return r.Strategy
}
