package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
)

// writeFiles writes the Route, the port's Caddy config and compose.yaml,
// each replaced atomically (a reader sees the old or the new file). It
// reports whether the Caddy config changed (a switch leaves it as it is).
func (p *Proxy) writeFiles(ctx context.Context, r Route, all []Route, removed bool) (bool, error) {
	var next []Route
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
	var owner string
	for _, o := range next {
		if o.TLS != nil {
			if owner, err = p.fileOwner(ctx); err != nil {
				return false, err
			}
			break
		}
	}
	compose, err := proxyCompose(p.rec, next, owner)
	if err != nil {
		return false, err
	}
	routeJSON, _ := json.Marshal(r)
	put := func(path string, data []byte) (bool, error) { return p.putFile(ctx, path, data) }
	changed, err := put(fmt.Sprintf("%s/ports/%d/caddy.json", p.rec.Root, r.Port), caddyJSON)
	if err != nil {
		return false, err
	}
	if _, err := put(p.rec.Root+"/compose.yaml", compose); err != nil {
		return false, err
	}
	routePath := p.rec.Root + "/routes/" + r.App + ".json"
	if removed {
		_, err := p.s.Run(ctx, "remove Route", "rm -f "+host.Q(routePath), nil)
		return changed, err
	}
	_, err = put(routePath, routeJSON)
	return changed, err
}

func (p *Proxy) liveDir(port int) string {
	return fmt.Sprintf("%s/ports/%d/live", p.rec.Root, port)
}

// setLive creates the live files of live and removes those of dead, in
// that order: for a moment both are live, never neither.
func (p *Proxy) setLive(ctx context.Context, port int, live []string, dead []string) error {
	dir := p.liveDir(port)
	script := "mkdir -p " + host.Q(dir)
	for _, u := range live {
		script += " && : > " + host.Q(dir+"/"+u)
	}
	for _, u := range dead {
		script += " && rm -f " + host.Q(dir+"/"+u)
	}
	if _, err := p.s.Run(ctx, "switch live upstream", script, nil); err != nil {
		return fmt.Errorf("switch the live upstream on proxy port %d: %w", port, err)
	}
	return nil
}

// composeCmd runs compose on the proxy project.
func (p *Proxy) composeCmd(args string) string {
	return fmt.Sprintf("cd %s && %s -p %s -f compose.yaml %s", host.Q(p.rec.Root), p.s.ComposeBin(), host.Q(p.rec.Name), args)
}

// Switch gives r.Live r.App's traffic. When the port has no Caddy
// yet, one is created; handover, if set, runs between creating and
// starting it (a migration frees the port there). It returns once Caddy's
// health checks have seen the switch.
func (p *Proxy) Switch(ctx context.Context, r Route, who string, handover func(context.Context) error) error {
	l, err := p.lock(ctx, who)
	if err != nil {
		return fmt.Errorf("proxy lock: %w", err)
	}
	defer l.Release()
	all, err := p.Routes(ctx)
	if err != nil {
		return err
	}
	old, had := findRoute(all, r.App)
	r = p.withTLS(all, r)
	if err := Conflict(all, r); err != nil {
		return err
	}
	if err := p.installTLS(ctx, r, old, had); err != nil {
		return err
	}
	moved := had && old.Port != r.Port
	if moved {
		// Maintenance stays on when the app moves port.
		if err := p.copyMaintenance(ctx, r.App, old.Port, r.Port); err != nil {
			return err
		}
	}
	if err := p.setLive(ctx, r.Port, []string{r.Live}, nil); err != nil {
		return err
	}
	changed, err := p.writeFiles(ctx, r, all, false)
	if err == nil {
		err = p.apply(ctx, r, changed, handover)
	}
	if err != nil {
		// The files go back to what the running Caddy serves, so a later
		// restart of the proxy does not Route to a release that failed.
		rctx := context.WithoutCancel(ctx)
		if had {
			_, _ = p.writeFiles(rctx, old, all, false)
		} else {
			_, _ = p.writeFiles(rctx, r, all, true)
		}
		if !had || old.Live != r.Live {
			_ = p.setLive(rctx, r.Port, nil, []string{r.Live})
		}
		if moved {
			p.dropAppFiles(rctx, r.App, r.Port)
		}
		return err
	}
	p.pruneTLS(ctx, r.App, r.Port, r.TLS)
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
		// The app already serves on its new port; a stale Route on the old
		// one must not undo that.
		_ = p.leavePort(ctx, old, all)
	}
	// Caddy acts on the live files at its next health check. The switch
	// has happened by now: a deadline or cancel during this wait must not
	// read as a failed switch, or the caller would remove the color that
	// now serves.
	select {
	case <-ctx.Done():
	case <-time.After(3 * liveCheckInterval):
	}
	return nil
}

func findRoute(routes []Route, app string) (Route, bool) {
	for _, r := range routes {
		if r.App == app {
			return r, true
		}
	}
	return Route{}, false
}
