package proxy

import (
	"bytes"
	"context"
	"fmt"

	"github.com/goship-dev/goship/pipeline/host"
)

// leavePort drops app's Route from the port it moved away from: that
// port's Caddy reloads without it, or goes when no app is left on it.
func (p *Proxy) leavePort(ctx context.Context, old Route, all []Route) error {
	var left []Route
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
	script := fmt.Sprintf("cat > %[1]s.tmp && mv -f %[1]s.tmp %[1]s", host.Q(path))
	if _, err := p.s.Run(ctx, "write "+path, script, bytes.NewReader(cfg)); err != nil {
		return err
	}
	id, status, _, err := p.Container(ctx, old.Port)
	switch {
	case err != nil || id == "":
		return err
	case len(left) == 0:
		_, err = p.s.Run(ctx, "remove proxy", "docker rm -f "+host.Q(id), nil)
	case status == "running":
		_, err = p.s.Run(ctx, "caddy reload", fmt.Sprintf("docker exec %s /usr/bin/caddy reload --config %s/caddy.json", host.Q(id), proxyConfigDir), nil)
	}
	if err == nil {
		err = p.setLive(ctx, old.Port, nil, old.Upstreams)
	}
	if err != nil {
		return fmt.Errorf("proxy port %d, which %s left: %w", old.Port, old.App, err)
	}
	p.dropAppFiles(ctx, old.App, old.Port)
	return nil
}

// PortAlone fails when app cannot publish its port itself, without the
// proxy: another app shares the port, or the proxy does what the app
// alone cannot (HTTPS, maintenance).
func (p *Proxy) PortAlone(ctx context.Context, app string, port int) error {
	all, err := p.Routes(ctx)
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.App != app && o.Port == port {
			return fmt.Errorf("proxy port %d also serves app %s: %s cannot publish it itself; keep it on blue-green or move it to another port", port, o.App, app)
		}
		if o.App == app && o.TLS != nil {
			return fmt.Errorf("%s is served over HTTPS by the proxy on port %d, which recreate cannot do: keep it on blue-green", app, o.Port)
		}
	}
	if on, err := p.inMaintenance(ctx, app, port); err != nil || on {
		if err == nil {
			err = fmt.Errorf("%s is in maintenance behind the proxy, which recreate cannot keep: turn it off first (maintenance off) or keep it on blue-green", app)
		}
		return err
	}
	return nil
}

// FreePort stops the Caddy of port, which must serve only app, and keeps
// it so it can start again; it returns the container ("" if none).
func (p *Proxy) FreePort(ctx context.Context, app string, port int) (stopped string, err error) {
	if err := p.PortAlone(ctx, app, port); err != nil {
		return "", err
	}
	id, _, _, err := p.Container(ctx, port)
	if err != nil || id == "" {
		return "", err
	}
	if _, err := p.s.Run(ctx, "stop proxy", "docker stop "+host.Q(id), nil); err != nil {
		return "", fmt.Errorf("stop proxy on port %d: %w", port, err)
	}
	return id, nil
}

// Remove drops app's Route and the stopped Caddy of its port.
func (p *Proxy) Remove(ctx context.Context, r Route, stopped string) error {
	l, err := p.lock(ctx, "goship")
	if err != nil {
		return err
	}
	defer l.Release()
	all, err := p.Routes(ctx)
	if err != nil {
		return err
	}
	if _, err := p.writeFiles(ctx, r, all, true); err != nil {
		return err
	}
	if old, ok := findRoute(all, r.App); ok {
		_ = p.setLive(ctx, old.Port, nil, old.Upstreams)
		p.dropAppFiles(ctx, old.App, old.Port)
	}
	if stopped != "" {
		_, err = p.s.Run(ctx, "remove proxy", "docker rm -f "+host.Q(stopped), nil)
	}
	return err
}
