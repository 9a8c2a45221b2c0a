package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// The proxy is Caddy, run as its own compose project under Root:
//
//	compose.yaml             one service per public port, p<port>
//	routes/<app>.json        each app's public address and upstreams
//	ports/<port>/caddy.json  the Caddy config of one port, from the routes
//	ports/<port>/live/<up>   one empty file per upstream that gets traffic
//	.lock, .lock.owner       held while the routes change
//
// One Caddy container per public port, because docker cannot publish a
// port on a running container: a new app on a new port adds a container
// and never restarts the ones serving other apps. Apps on one port, told
// apart by host name, share that port's Caddy.
//
// A switch changes no config. Each app's route lists both colors; Caddy
// sends each request to the first one its active health check finds
// live, and that check asks Caddy's own file server whether the color's
// live file exists. Switching is creating the new color's file and
// removing the old one's. A reload would do too, but Go's http.Server
// drops a request read after its Shutdown began, so every reload can
// lose a request on a busy port; a route change (an app joins or leaves a
// port) still reloads, a deploy or rollback never does. Requests in
// flight finish on the old color, which is stopped only once it has none.

// route is one app's entry in the proxy.
type route struct {
	App       string   `json:"app"`
	Bind      string   `json:"bind,omitempty"`
	Port      int      `json:"port"`
	Host      string   `json:"host,omitempty"`
	Upstreams []string `json:"upstreams"` // alias:port of each color on the proxy network
	Live      string   `json:"live"`      // the one that gets traffic
	Release   string   `json:"release"`
	Color     string   `json:"color"`
}

// proxyServer changes the proxy on one server.
type proxyServer struct {
	s   *server
	rec ProxyRecord
}

func (s *server) proxy(rec ProxyRecord) *proxyServer { return &proxyServer{s: s, rec: rec} }

func (p *proxyServer) service(port int) string { return "p" + strconv.Itoa(port) }

// conflict is why r cannot join routes, or nil.
func conflict(routes []route, r route) error {
	for _, o := range routes {
		if o.App == r.App || o.Port != r.Port {
			continue
		}
		if o.Bind != r.Bind {
			return fmt.Errorf("proxy port %d is bound to %q for app %s; app %s wants %q: use the same address or another port", r.Port, orAll(o.Bind), o.App, r.App, orAll(r.Bind))
		}
		if o.Host == r.Host {
			if r.Host == "" {
				return fmt.Errorf("proxy port %d already serves app %s: give each app its own port, or each a host name", r.Port, o.App)
			}
			return fmt.Errorf("proxy port %d already serves host %s for app %s", r.Port, r.Host, o.App)
		}
	}
	return nil
}

func orAll(bind string) string {
	if bind == "" {
		return "0.0.0.0"
	}
	return bind
}

// Active health checks run this often; a switch waits a few of them.
const liveCheckInterval = 100 * time.Millisecond

// healthAddr is the loopback address of the file server that tells
// Caddy's health checks which upstreams are live: any port but the public
// one.
func healthAddr(port int) string {
	if port == 2021 {
		return "127.0.0.1:2022"
	}
	return "127.0.0.1:2021"
}

// caddyConfig is the Caddy JSON config of one port: one route per app,
// host-name routes before the catch-all, and a 404 when nothing matches.
// It names no color as live (the live files do), so a switch leaves it
// unchanged.
func caddyConfig(port int, routes []route, drain time.Duration) ([]byte, error) {
	var mine []route
	for _, r := range routes {
		if r.Port == port {
			mine = append(mine, r)
		}
	}
	sort.Slice(mine, func(i, j int) bool {
		if (mine[i].Host == "") != (mine[j].Host == "") {
			return mine[j].Host == ""
		}
		return mine[i].Host < mine[j].Host
	})
	type obj = map[string]any
	var handlers []any
	catchAll := false
	for _, r := range mine {
		var upstreams []any
		for _, u := range r.Upstreams {
			upstreams = append(upstreams, obj{"dial": u})
		}
		h := obj{
			"handle": []any{obj{
				"handler":   "reverse_proxy",
				"upstreams": upstreams,
				// The first live color gets every request. A color that
				// cannot be dialed (stopped: docker's DNS drops its name)
				// is skipped, and the request retried on the next one.
				"load_balancing": obj{"selection_policy": obj{"policy": "first"}, "try_duration": "5s", "try_interval": "25ms"},
				"health_checks": obj{"active": obj{
					"upstream": healthAddr(port), "uri": "/", "interval": liveCheckInterval.String(), "timeout": "1s",
					"expect_status": 200,
					"headers":       obj{"X-Goship-Upstream": []any{"{http.reverse_proxy.active.target_upstream}"}},
				}},
				// Short-lived upstream keep-alives let the old release show
				// no open connections soon after a switch, so the drain
				// ends when its last request does.
				"transport": obj{"protocol": "http", "keep_alive": obj{"idle_timeout": "1s"}},
			}},
			"terminal": true,
		}
		if r.Host != "" {
			h["match"] = []any{obj{"host": []any{r.Host}}}
		} else {
			catchAll = true
		}
		handlers = append(handlers, h)
	}
	if !catchAll {
		handlers = append(handlers, obj{"handle": []any{obj{"handler": "static_response", "status_code": 404, "body": "no app for this host\n"}}})
	}
	cfg := obj{
		// The admin API listens on the container's own loopback only;
		// goship reaches it with docker exec. The file goship writes is
		// the only config, so Caddy keeps no autosave.
		"admin": obj{"listen": "localhost:2019", "config": obj{"persist": false}},
		"apps": obj{"http": obj{
			"grace_period": (drain + 5*time.Second).String(),
			"servers": obj{
				"goship": obj{
					"listen":          []any{":" + strconv.Itoa(port)},
					"automatic_https": obj{"disable": true},
					"routes":          handlers,
				},
				// 200 when /etc/goship/live/<upstream> exists, else 404.
				"live": obj{
					"listen":          []any{healthAddr(port)},
					"automatic_https": obj{"disable": true},
					"routes": []any{obj{"handle": []any{
						obj{"handler": "rewrite", "uri": "/{http.request.header.X-Goship-Upstream}"},
						obj{"handler": "file_server", "root": proxyConfigDir + "/live"},
					}}},
				},
			},
		}},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// proxyConfigDir is where a port's config lives inside its container.
const proxyConfigDir = "/etc/goship"

type composeDoc struct {
	Version  string                    `yaml:"version"`
	Services map[string]map[string]any `yaml:"services"`
	Networks map[string]map[string]any `yaml:"networks"`
}

// proxyCompose is the proxy's compose.yaml: one Caddy per port.
func proxyCompose(rec ProxyRecord, routes []route) ([]byte, error) {
	doc := composeDoc{Version: "2.4", Services: map[string]map[string]any{}, Networks: map[string]map[string]any{
		"edge": {"external": true, "name": rec.Name},
	}}
	for _, r := range routes {
		publish := fmt.Sprintf("%d:%d", r.Port, r.Port)
		if r.Bind != "" {
			publish = r.Bind + ":" + publish
		}
		doc.Services["p"+strconv.Itoa(r.Port)] = map[string]any{
			"image":             rec.Image,
			"restart":           "unless-stopped",
			"entrypoint":        []string{"/usr/bin/caddy"},
			"command":           []string{"run", "--config", proxyConfigDir + "/caddy.json"},
			"ports":             []string{publish},
			"volumes":           []string{fmt.Sprintf("./ports/%d:%s:ro", r.Port, proxyConfigDir)},
			"networks":          []string{"edge"},
			"stop_grace_period": (rec.Drain + 5*time.Second).String(),
			"logging":           map[string]any{"driver": "json-file", "options": map[string]string{"max-size": "10m", "max-file": "3"}},
			"labels":            map[string]string{"dev.goship.proxy": rec.Name},
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# Generated by goship: the shared reverse proxy, one Caddy per public port.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render proxy compose: %w", err)
	}
	return buf.Bytes(), nil
}

// prepare checks the proxy dir can be written and the network exists.
func (p *proxyServer) prepare(ctx context.Context) error {
	script := fmt.Sprintf(`mkdir -p %[1]s/routes %[1]s/ports 2>/dev/null && test -w %[1]s/routes || exit %[2]d
docker network inspect %[3]s >/dev/null 2>&1 || docker network create %[3]s >/dev/null`, q(p.rec.Root), exitNotWritten, q(p.rec.Name))
	_, err := p.s.run(ctx, "prepare proxy", script, nil)
	var exit *sshconn.ExitError
	if errors.As(err, &exit) && exit.Status == exitNotWritten {
		return fmt.Errorf("proxy on %s: cannot write %s: create it and give the deploy user ownership (sudo install -d -o USER %s)", p.s.c.Target(), p.rec.Root, p.rec.Root)
	}
	if err != nil {
		return fmt.Errorf("prepare proxy: %w", err)
	}
	return nil
}

// routes reads every app's route.
func (p *proxyServer) routes(ctx context.Context) ([]route, error) {
	script := fmt.Sprintf(`cd %s/routes 2>/dev/null || exit 0
for f in *.json; do [ -f "$f" ] && { tr -d '\n' < "$f"; echo; }; done; true`, q(p.rec.Root))
	out, err := p.s.run(ctx, "read proxy routes", script, nil)
	if err != nil {
		return nil, err
	}
	var routes []route
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r route
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("proxy route: %w", err)
		}
		routes = append(routes, r)
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].App < routes[j].App })
	return routes, nil
}

// lock takes the proxy's lock, waiting while another app's switch holds
// it (switches take a second or two).
func (p *proxyServer) lock(ctx context.Context, who string) (*lock, error) {
	ps := *p.s
	ps.app, ps.appDir = p.rec.Name, p.rec.Root
	deadline := time.Now().Add(time.Minute)
	for {
		l, err := ps.lock(ctx, who)
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// container is the id and state of the Caddy serving port ("" when absent).
func (p *proxyServer) container(ctx context.Context, port int) (id, status, image string, err error) {
	script := fmt.Sprintf(`id=$(docker ps -aq --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=%s | head -n 1)
[ -n "$id" ] && docker inspect --format '{{.Id}} {{.State.Status}} {{.Config.Image}}' "$id"; true`, q(p.rec.Name), q(p.service(port)))
	out, err := p.s.run(ctx, "find proxy container", script, nil)
	if err != nil {
		return "", "", "", err
	}
	f := strings.Fields(out)
	if len(f) != 3 {
		return "", "", "", nil
	}
	return f[0], f[1], f[2], nil
}

// portHolder says who holds the public port when the proxy does not:
// the app's own recreate container (a migration), another container, or
// another process. Empty means the port is free.
func (p *proxyServer) portHolder(ctx context.Context, r route) (holder string, ownApp bool, err error) {
	out, err := p.s.run(ctx, "docker ps ports", `docker ps --format '{{.ID}} {{.Names}} {{.Label "com.docker.compose.project"}} {{.Ports}}'`, nil)
	if err != nil {
		return "", false, err
	}
	mark := ":" + strconv.Itoa(r.Port) + "->"
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.Contains(line, mark) {
			continue
		}
		if f[2] == r.App {
			return "app " + r.App + " (container " + f[1] + ")", true, nil
		}
		return "container " + f[1], false, nil
	}
	addr := net.JoinHostPort(loopbackFor(r.Bind), strconv.Itoa(r.Port))
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if conn, err := p.s.c.DialTCP(dctx, addr); err == nil {
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

// writeFiles writes the route, the port's Caddy config and compose.yaml,
// each replaced atomically (a reader sees the old or the new file). It
// reports whether the Caddy config changed (a switch leaves it as it is).
func (p *proxyServer) writeFiles(ctx context.Context, r route, all []route, removed bool) (bool, error) {
	var next []route
	for _, o := range all {
		if o.App != r.App {
			next = append(next, o)
		}
	}
	if !removed {
		next = append(next, r)
	}
	caddyJSON, err := caddyConfig(r.Port, next, p.rec.Drain)
	if err != nil {
		return false, err
	}
	compose, err := proxyCompose(p.rec, next)
	if err != nil {
		return false, err
	}
	routeJSON, _ := json.Marshal(r)
	put := func(path string, data []byte) (bool, error) {
		script := fmt.Sprintf(`mkdir -p "$(dirname %[1]s)" && cat > %[1]s.tmp
if cmp -s %[1]s.tmp %[1]s; then rm -f %[1]s.tmp; else mv -f %[1]s.tmp %[1]s && echo changed; fi`, q(path))
		out, err := p.s.run(ctx, "write "+path, script, bytes.NewReader(data))
		return strings.TrimSpace(out) == "changed", err
	}
	changed, err := put(fmt.Sprintf("%s/ports/%d/caddy.json", p.rec.Root, r.Port), caddyJSON)
	if err != nil {
		return false, err
	}
	if _, err := put(p.rec.Root+"/compose.yaml", compose); err != nil {
		return false, err
	}
	routePath := p.rec.Root + "/routes/" + r.App + ".json"
	if removed {
		_, err := p.s.run(ctx, "remove route", "rm -f "+q(routePath), nil)
		return changed, err
	}
	_, err = put(routePath, routeJSON)
	return changed, err
}

func (p *proxyServer) liveDir(port int) string {
	return fmt.Sprintf("%s/ports/%d/live", p.rec.Root, port)
}

// setLive creates the live files of live and removes those of dead, in
// that order: for a moment both are live, never neither.
func (p *proxyServer) setLive(ctx context.Context, port int, live []string, dead []string) error {
	dir := p.liveDir(port)
	script := "mkdir -p " + q(dir)
	for _, u := range live {
		script += " && : > " + q(dir+"/"+u)
	}
	for _, u := range dead {
		script += " && rm -f " + q(dir+"/"+u)
	}
	if _, err := p.s.run(ctx, "switch live upstream", script, nil); err != nil {
		return fmt.Errorf("switch the live upstream on proxy port %d: %w", port, err)
	}
	return nil
}

// composeCmd runs compose on the proxy project.
func (p *proxyServer) composeCmd(args string) string {
	return fmt.Sprintf("cd %s && %s -p %s -f compose.yaml %s", q(p.rec.Root), p.s.compose, q(p.rec.Name), args)
}

// switchTo gives r.Live r.App's traffic. When the port has no Caddy
// yet, one is created; handover, if set, runs between creating and
// starting it (a migration frees the port there). It returns once Caddy's
// health checks have seen the switch.
func (p *proxyServer) switchTo(ctx context.Context, r route, who string, handover func(context.Context) error) error {
	l, err := p.lock(ctx, who)
	if err != nil {
		return fmt.Errorf("proxy lock: %w", err)
	}
	defer l.release()
	all, err := p.routes(ctx)
	if err != nil {
		return err
	}
	if err := conflict(all, r); err != nil {
		return err
	}
	old, had := findRoute(all, r.App)
	if err := p.setLive(ctx, r.Port, []string{r.Live}, nil); err != nil {
		return err
	}
	changed, err := p.writeFiles(ctx, r, all, false)
	if err == nil {
		err = p.apply(ctx, r, changed, handover)
	}
	if err != nil {
		// The files go back to what the running Caddy serves, so a later
		// restart of the proxy does not route to a release that failed.
		rctx := context.WithoutCancel(ctx)
		if had {
			_, _ = p.writeFiles(rctx, old, all, false)
		} else {
			_, _ = p.writeFiles(rctx, r, all, true)
		}
		if !had || old.Live != r.Live {
			_ = p.setLive(rctx, r.Port, nil, []string{r.Live})
		}
		return err
	}
	var dead []string
	for _, u := range r.Upstreams {
		if u != r.Live {
			dead = append(dead, u)
		}
	}
	if err := p.setLive(ctx, r.Port, nil, dead); err != nil {
		return err
	}
	if had && old.Port != r.Port {
		// The app already serves on its new port; a stale route on the old
		// one must not undo that.
		_ = p.leavePort(ctx, old, all)
	}
	// Caddy acts on the live files at its next health check.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(3 * liveCheckInterval):
	}
	return nil
}

// leavePort drops app's route from the port it moved away from: that
// port's Caddy reloads without it, or goes when no app is left on it.
func (p *proxyServer) leavePort(ctx context.Context, old route, all []route) error {
	var left []route
	for _, o := range all {
		if o.App != old.App && o.Port == old.Port {
			left = append(left, o)
		}
	}
	cfg, err := caddyConfig(old.Port, left, p.rec.Drain)
	if err != nil {
		return err
	}
	path := fmt.Sprintf("%s/ports/%d/caddy.json", p.rec.Root, old.Port)
	script := fmt.Sprintf("cat > %[1]s.tmp && mv -f %[1]s.tmp %[1]s", q(path))
	if _, err := p.s.run(ctx, "write "+path, script, bytes.NewReader(cfg)); err != nil {
		return err
	}
	id, status, _, err := p.container(ctx, old.Port)
	switch {
	case err != nil || id == "":
		return err
	case len(left) == 0:
		_, err = p.s.run(ctx, "remove proxy", "docker rm -f "+q(id), nil)
	case status == "running":
		_, err = p.s.run(ctx, "caddy reload", fmt.Sprintf("docker exec %s /usr/bin/caddy reload --config %s/caddy.json", q(id), proxyConfigDir), nil)
	}
	if err == nil {
		err = p.setLive(ctx, old.Port, nil, old.Upstreams)
	}
	if err != nil {
		return fmt.Errorf("proxy port %d, which %s left: %w", old.Port, old.App, err)
	}
	return nil
}

func findRoute(routes []route, app string) (route, bool) {
	for _, r := range routes {
		if r.App == app {
			return r, true
		}
	}
	return route{}, false
}

// apply makes the port's Caddy serve the config just written: a reload
// when it changed, nothing more for a switch.
func (p *proxyServer) apply(ctx context.Context, r route, changed bool, handover func(context.Context) error) error {
	id, status, img, err := p.container(ctx, r.Port)
	if err != nil {
		return err
	}
	svc := q(p.service(r.Port))
	switch {
	case id != "" && status == "running" && img == p.rec.Image:
		if !changed {
			return nil
		}
		reload := fmt.Sprintf("docker exec %s /usr/bin/caddy reload --config %s/caddy.json", q(id), proxyConfigDir)
		if _, err := p.s.run(ctx, "caddy reload", reload, nil); err != nil {
			return fmt.Errorf("proxy reload on port %d: %w", r.Port, err)
		}
		return nil
	case id != "" && img == p.rec.Image:
		// Stopped by hand or crashed: its config file is already the new one.
		if _, err := p.s.run(ctx, "start proxy", "docker start "+q(id), nil); err != nil {
			return p.portError(r, err)
		}
	default:
		// New port, or a proxy image upgrade (which restarts this port's Caddy).
		pull := fmt.Sprintf("docker image inspect %[1]s >/dev/null 2>&1 || docker pull -q %[1]s >/dev/null", q(p.rec.Image))
		if _, err := p.s.run(ctx, "pull proxy image", pull, nil); err != nil {
			return fmt.Errorf("proxy image %s: %w", p.rec.Image, err)
		}
		if _, err := p.s.run(ctx, "create proxy", p.composeCmd("up --no-start "+svc), nil); err != nil {
			return fmt.Errorf("create proxy for port %d: %w", r.Port, err)
		}
		if id, _, _, err = p.container(ctx, r.Port); err != nil {
			return fmt.Errorf("find the new proxy for port %d: %w", r.Port, err)
		} else if id == "" {
			return fmt.Errorf("compose created no proxy container for port %d", r.Port)
		}
		if handover != nil {
			if err := handover(ctx); err != nil {
				_, _ = p.s.run(context.WithoutCancel(ctx), "remove proxy", "docker rm -f "+q(id), nil)
				return err
			}
		}
		// docker start, not compose: the port is free from here on.
		if _, err := p.s.run(ctx, "start proxy", "docker start "+q(id), nil); err != nil {
			_, _ = p.s.run(context.WithoutCancel(ctx), "remove proxy", p.composeCmd("rm -fs "+svc), nil)
			return p.portError(r, err)
		}
	}
	return p.waitListening(ctx, r)
}

// portError explains a proxy that could not start, naming the port.
func (p *proxyServer) portError(r route, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "already allocated") || strings.Contains(msg, "address already in use") {
		return fmt.Errorf("proxy port %d on %s is taken by something else: free it or publish the app on another port: %w", r.Port, p.s.c.Target(), err)
	}
	return fmt.Errorf("start proxy for port %d: %w", r.Port, err)
}

// waitListening waits until the port's Caddy answers HTTP. A TCP
// connect is not enough: docker's port proxy accepts before Caddy listens.
func (p *proxyServer) waitListening(ctx context.Context, r route) error {
	addr := net.JoinHostPort(loopbackFor(r.Bind), strconv.Itoa(r.Port))
	client := p.s.tunnelHTTP(Health{Interval: 300 * time.Millisecond})
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+addr+"/", nil)
		if err != nil {
			return err
		}
		if r.Host != "" {
			req.Host = r.Host
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proxy on port %d does not answer HTTP after 30s: %w", r.Port, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// portAlone fails when another app shares app's port on the proxy: then
// app cannot publish the port itself.
func (p *proxyServer) portAlone(ctx context.Context, app string, port int) error {
	all, err := p.routes(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.App != app && o.Port == port {
			return fmt.Errorf("proxy port %d also serves app %s: %s cannot publish it itself; keep it on blue-green or move it to another port", port, o.App, app)
		}
	}
	return nil
}

// freePort stops the Caddy of port, which must serve only app, and keeps
// it so it can start again; it returns the container ("" if none).
func (p *proxyServer) freePort(ctx context.Context, app string, port int) (stopped string, err error) {
	if err := p.portAlone(ctx, app, port); err != nil {
		return "", err
	}
	id, _, _, err := p.container(ctx, port)
	if err != nil || id == "" {
		return "", err
	}
	if _, err := p.s.run(ctx, "stop proxy", "docker stop "+q(id), nil); err != nil {
		return "", fmt.Errorf("stop proxy on port %d: %w", port, err)
	}
	return id, nil
}

// remove drops app's route and the stopped Caddy of its port.
func (p *proxyServer) remove(ctx context.Context, r route, stopped string) error {
	l, err := p.lock(ctx, "goship")
	if err != nil {
		return err
	}
	defer l.release()
	all, err := p.routes(ctx)
	if err != nil {
		return err
	}
	if _, err := p.writeFiles(ctx, r, all, true); err != nil {
		return err
	}
	if old, ok := findRoute(all, r.App); ok {
		_ = p.setLive(ctx, old.Port, nil, old.Upstreams)
	}
	if stopped != "" {
		_, err = p.s.run(ctx, "remove proxy", "docker rm -f "+q(stopped), nil)
	}
	return err
}
