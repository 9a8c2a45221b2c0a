package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
)

// apply makes the port's Caddy serve the config just written: a reload
// when it changed, nothing more for a switch.
func (p *Proxy) apply(ctx context.Context, r Route, changed bool, handover func(context.Context) error) error {
	id, status, img, err := p.Container(ctx, r.Port)
	if err != nil {
		return err
	}
	svc := host.Q(p.service(r.Port))
	switch {
	case id != "" && status == "running" && img == p.rec.Image:
		if !changed {
			return nil
		}
		reload := fmt.Sprintf("docker exec %s /usr/bin/caddy reload --config %s/caddy.json", host.Q(id), proxyConfigDir)
		if _, err := p.s.Run(ctx, "caddy reload", reload, nil); err != nil {
			return fmt.Errorf("proxy reload on port %d: %w", r.Port, err)
		}
		return nil
	case id != "" && img == p.rec.Image:
		// Stopped by hand or crashed: its config file is already the new one.
		if _, err := p.s.Run(ctx, "start proxy", "docker start "+host.Q(id), nil); err != nil {
			return p.portError(r, err)
		}
	default:
		// New port, or a proxy image upgrade (which restarts this port's Caddy).
		pull := fmt.Sprintf("docker image inspect %[1]s >/dev/null 2>&1 || docker pull -q %[1]s >/dev/null", host.Q(p.rec.Image))
		if _, err := p.s.Run(ctx, "pull proxy image", pull, nil); err != nil {
			return fmt.Errorf("proxy image %s: %w", p.rec.Image, err)
		}
		if _, err := p.s.Run(ctx, "create proxy", p.composeCmd("up --no-start "+svc), nil); err != nil {
			return fmt.Errorf("create proxy for port %d: %w", r.Port, err)
		}
		if id, _, _, err = p.Container(ctx, r.Port); err != nil {
			return fmt.Errorf("find the new proxy for port %d: %w", r.Port, err)
		} else if id == "" {
			return fmt.Errorf("compose created no proxy container for port %d", r.Port)
		}
		if handover != nil {
			if err := handover(ctx); err != nil {
				_, _ = p.s.Run(context.WithoutCancel(ctx), "remove proxy", "docker rm -f "+host.Q(id), nil)
				return err
			}
		}
		// docker start, not compose: the port is free from here on.
		if _, err := p.s.Run(ctx, "start proxy", "docker start "+host.Q(id), nil); err != nil {
			_, _ = p.s.Run(context.WithoutCancel(ctx), "remove proxy", p.composeCmd("rm -fs "+svc), nil)
			return p.portError(r, err)
		}
	}
	return p.waitListening(ctx, r)
}

// portError explains a proxy that could not start, naming the port.
func (p *Proxy) portError(r Route, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "already allocated") || strings.Contains(msg, "address already in use") {
		return fmt.Errorf("proxy port %d on %s is taken by something else: free it or publish the app on another port: %w", r.Port, p.s.Target(), err)
	}
	return fmt.Errorf("start proxy for port %d: %w", r.Port, err)
}

// waitListening waits until the port's Caddy answers HTTP. A TCP
// connect is not enough: docker's port proxy accepts before Caddy listens.
func (p *Proxy) waitListening(ctx context.Context, r Route) error {
	addr := net.JoinHostPort(loopbackFor(r.Bind), strconv.Itoa(r.Port))
	client := p.s.TunnelHTTP(host.Health{Interval: 300 * time.Millisecond})
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
