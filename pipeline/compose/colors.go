package compose

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
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

// inColor is a acting on the compose project of one color.
func inColor(a *host.App, color string) *host.App {
	return a.WithProject(a.Name() + "-" + color)
}

// colorCompose runs compose for release as color.
func colorCompose(s *host.App, release, color, args string) string {
	return fmt.Sprintf("cd %s && %s=%s %s -p %s -f compose.yaml %s", host.Q(s.ReleaseDir(release)), colorVar, color, s.ComposeBin(), host.Q(s.Name()+"-"+color), args)
}

// blueGreenRoute is app's route to release running as color, as the
// proxy record says.
func blueGreenRoute(app string, pr proxy.Record, release, color string, containerPort int) proxy.Route {
	return proxy.Route{App: app, Bind: pr.Bind, Port: pr.Port, Host: pr.Host,
		Upstreams: []string{upstream(app, ColorBlue, containerPort), upstream(app, ColorGreen, containerPort)},
		Live:      upstream(app, color, containerPort), Release: release, Color: color}
}

// gateColor starts nothing: it gates the release running as color on its
// address on the proxy network.
func gateColor(ctx context.Context, s *host.App, rec host.Record, color, network string, port int, h host.Health, before *host.ContainerSnap) error {
	cs := inColor(s, color)
	id, err := cs.ContainerID(ctx, rec.Name)
	if err != nil {
		return &host.GateError{Check: err.Error()}
	}
	format := fmt.Sprintf(`{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}`, network)
	out, err := s.Run(ctx, "container address", "docker inspect --format "+host.Q(format)+" "+host.Q(id), nil)
	ip := strings.TrimSpace(out)
	if err != nil || ip == "" {
		return &host.GateError{Check: fmt.Sprintf("container %s is not on the proxy network %s", host.Short(id), network)}
	}
	h.Host, h.Port = ip, port
	return cs.Gate(ctx, rec.Name, rec.ImageID, h, before)
}

// startColor brings a release up as color and gates it. A container
// of that color that already runs this release (stopped after an earlier
// switch) is started again instead of created.
func startColor(ctx context.Context, s *host.App, rec host.Record, color, network string, port int, h host.Health) error {
	cs := inColor(s, color)
	before := cs.Snapshot(ctx, rec.Name)
	if id, ok := keptContainer(ctx, s, rec, color); ok {
		if _, err := s.RunDeadline(ctx, "start kept container", s.Timeouts().Up, "docker start "+host.Q(id), nil); err != nil {
			return &host.GateError{Check: "docker start: " + err.Error(), Err: err}
		}
	} else if _, err := s.RunDeadline(ctx, "compose up "+rec.Name, s.Timeouts().Up, colorCompose(s, rec.Name, color, "up -d --remove-orphans"), nil); err != nil {
		return &host.GateError{Check: "compose up: " + err.Error(), Err: err}
	}
	return gateColor(ctx, s, rec, color, network, port, h, before)
}

// keptContainer is the container of color when it was created from
// rec's own release directory and image.
func keptContainer(ctx context.Context, s *host.App, rec host.Record, color string) (string, bool) {
	cs := inColor(s, color)
	id, err := cs.ContainerID(ctx, rec.Name)
	if err != nil {
		return "", false
	}
	out, err := s.Run(ctx, "inspect kept container", "docker inspect --format "+host.Q(`{{.Image}} {{index .Config.Labels "com.docker.compose.project.working_dir"}}`)+" "+host.Q(id), nil)
	if err != nil {
		return "", false
	}
	f := strings.Fields(out)
	return id, len(f) == 2 && f[0] == rec.ImageID && f[1] == s.ReleaseDir(rec.Name)
}

// removeColor removes a color's containers (a release that failed its gate).
func removeColor(ctx context.Context, s *host.App, release, color string) {
	_, _ = s.Run(ctx, "compose down "+release, colorCompose(s, release, color, "down --remove-orphans"), nil)
}

// removeProject removes a compose project's containers and networks
// without its compose file (the release that created them may be pruned).
func removeProject(ctx context.Context, s *host.App, project string) {
	label := host.Q("label=com.docker.compose.project=" + project)
	script := fmt.Sprintf(`ids=$(docker ps -aq --filter %[1]s); [ -z "$ids" ] || docker rm -f $ids >/dev/null
nets=$(docker network ls -q --filter %[1]s); [ -z "$nets" ] || docker network rm $nets >/dev/null; true`, label)
	_, _ = s.Run(ctx, "remove "+project, script, nil)
}

// drainAndStop waits until the old color's container has no open
// connections on its port (its last in-flight request finished), at most
// drain, then stops it gracefully. It keeps the container for rollbacks.
func drainAndStop(ctx context.Context, s *host.App, release, color string, port int, drain time.Duration) {
	id, err := inColor(s, color).ContainerID(ctx, release)
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
docker stop -t 15 %[1]s >/dev/null`, host.Q(id), tries, port)
	_, _ = s.Run(ctx, "drain and stop "+color, script, nil)
}
