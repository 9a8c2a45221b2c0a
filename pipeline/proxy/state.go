package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Prepare checks the proxy dir can be written and the network exists.
func (p *Proxy) Prepare(ctx context.Context) error {
	script := fmt.Sprintf(`mkdir -p %[1]s/routes %[1]s/ports 2>/dev/null && test -w %[1]s/routes || exit %[2]d
docker network inspect %[3]s >/dev/null 2>&1 || docker network create %[3]s >/dev/null`, host.Q(p.rec.Root), host.ExitNotWritten, host.Q(p.rec.Name))
	_, err := p.s.Run(ctx, "prepare proxy", script, nil)
	var exit *sshconn.ExitError
	if errors.As(err, &exit) && exit.Status == host.ExitNotWritten {
		return fmt.Errorf("proxy on %s: cannot write %s: create it and give the deploy user ownership (sudo install -d -o USER %s)", p.s.Target(), p.rec.Root, p.rec.Root)
	}
	if err != nil {
		return fmt.Errorf("prepare proxy: %w", err)
	}
	return nil
}

// Routes reads every app's Route.
func (p *Proxy) Routes(ctx context.Context) ([]Route, error) {
	script := fmt.Sprintf(`cd %s/routes 2>/dev/null || exit 0
for f in *.json; do [ -f "$f" ] && { tr -d '\n' < "$f"; echo; }; done; true`, host.Q(p.rec.Root))
	out, err := p.s.Run(ctx, "read proxy routes", script, nil)
	if err != nil {
		return nil, err
	}
	var routes []Route
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r Route
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("proxy Route: %w", err)
		}
		routes = append(routes, r)
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].App < routes[j].App })
	return routes, nil
}

// lock takes the proxy's lock, waiting while another app's switch holds
// it (switches take a second or two).
func (p *Proxy) lock(ctx context.Context, who string) (*host.Held, error) {
	ps := host.New(p.s.Client(), p.rec.Name, p.rec.Root, "")
	deadline := time.Now().Add(time.Minute)
	for {
		l, err := ps.Lock(ctx, who)
		if !errors.Is(err, host.ErrLocked) || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Container is the id and state of the Caddy serving port ("" when absent).
func (p *Proxy) Container(ctx context.Context, port int) (id, status, image string, err error) {
	c, err := p.inspect(ctx, port)
	return c.id, c.status, c.image, err
}

// container is a port's Caddy as docker shows it; shape is its
// shapeLabel ("" for plain HTTP).
type container struct{ id, status, image, shape string }

func (p *Proxy) inspect(ctx context.Context, port int) (container, error) {
	script := fmt.Sprintf(`id=$(docker ps -aq --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=%s | head -n 1)
[ -n "$id" ] && docker inspect --format '{{.Id}} {{.State.Status}} {{.Config.Image}} {{index .Config.Labels %q}}' "$id"; true`, host.Q(p.rec.Name), host.Q(p.service(port)), shapeLabel)
	out, err := p.s.Run(ctx, "find proxy container", script, nil)
	if err != nil {
		return container{}, err
	}
	f := strings.Fields(out)
	if len(f) < 3 {
		return container{}, nil
	}
	c := container{id: f[0], status: f[1], image: f[2]}
	if len(f) > 3 && f[3] != "<no value>" {
		c.shape = f[3]
	}
	return c, nil
}

// PortHolder says who holds the public port when the proxy does not:
// the app's own recreate container (a migration), another container, or
// another process; with a certificate to install, the same of the port
// that is to redirect to HTTPS. Empty means the ports are free.
func (p *Proxy) PortHolder(ctx context.Context, r Route) (holder string, ownApp bool, err error) {
	if holder, ownApp, err = p.portHolder(ctx, r.App, r.Bind, r.Port); holder != "" || err != nil {
		return holder, ownApp, err
	}
	if p.tls == nil || p.tls.redirectFrom == 0 {
		return "", false, nil
	}
	holder, _, err = p.portHolder(ctx, r.App, r.Bind, p.tls.redirectFrom)
	if holder != "" {
		holder = fmt.Sprintf("%s on port %d, which is to redirect to HTTPS (give --tls-redirect-from another port, or 0 for none)", holder, p.tls.redirectFrom)
	}
	return holder, false, err
}

func (p *Proxy) portHolder(ctx context.Context, app, bind string, port int) (holder string, ownApp bool, err error) {
	out, err := p.s.Run(ctx, "docker ps ports", `docker ps --format '{{.ID}} {{.Names}} {{.Label "com.docker.compose.project"}} {{.Ports}}'`, nil)
	if err != nil {
		return "", false, err
	}
	mark := ":" + strconv.Itoa(port) + "->"
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.Contains(line, mark) {
			continue
		}
		if f[2] == app {
			return "app " + app + " (container " + f[1] + ")", true, nil
		}
		return "container " + f[1], false, nil
	}
	addr := net.JoinHostPort(loopbackFor(bind), strconv.Itoa(port))
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if conn, err := p.s.Client().DialTCP(dctx, addr); err == nil {
		_ = conn.Close()
		return "another process listening on " + addr, false, nil
	}
	return "", false, nil
}

func loopbackFor(bind string) string {
	if bind == "" {
		return "127.0.0.1"
	}
	return bind
}
