package proxy

import (
	"context"
	"fmt"
	"io"
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
	c, err := p.inspect(ctx, r.Port)
	if err != nil {
		return err
	}
	id := c.id
	svc := host.Q(p.service(r.Port))
	same := c.image == p.rec.Image && c.shape == tlsShape(r.TLS)
	switch {
	case id != "" && c.status == "running" && same:
		if !changed {
			return nil
		}
		return p.reload(ctx, id, r.Port)
	case id != "" && same:
		// Stopped by hand or crashed: its config file is already the new one.
		if _, err := p.s.Run(ctx, "start proxy", "docker start "+host.Q(id), nil); err != nil {
			return p.portError(r, err)
		}
	default:
		// New port, a proxy image upgrade, or HTTPS turned on or off (its
		// published ports change): this port's Caddy is created again.
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

// reload makes the Caddy id load its port's config file again.
func (p *Proxy) reload(ctx context.Context, id string, port int) error {
	reload := fmt.Sprintf("docker exec %s /usr/bin/caddy reload --config %s/caddy.json", host.Q(id), proxyConfigDir)
	if _, err := p.s.Run(ctx, "caddy reload", reload, nil); err != nil {
		return fmt.Errorf("proxy reload on port %d: %w", port, err)
	}
	return nil
}

// portError explains a proxy that could not start, naming the port.
func (p *Proxy) portError(r Route, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "already allocated") || strings.Contains(msg, "address already in use") {
		ports := fmt.Sprintf("port %d", r.Port)
		if r.TLS != nil && r.TLS.RedirectFrom != 0 {
			ports = fmt.Sprintf("port %d or %d (the HTTP redirect)", r.Port, r.TLS.RedirectFrom)
		}
		return fmt.Errorf("proxy %s on %s is taken by something else: free it or publish the app on another port: %w", ports, p.s.Target(), err)
	}
	return fmt.Errorf("start proxy for port %d: %w", r.Port, err)
}

// waitListening waits until the port's Caddy answers HTTP (HTTPS with
// r's certificate). A TCP connect is not enough: docker's port proxy
// accepts before Caddy listens.
func (p *Proxy) waitListening(ctx context.Context, r Route) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := p.request(ctx, r, http.MethodHead)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proxy on port %d does not answer after 30s: %w", r.Port, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// request sends one request for r's app to its port's Caddy, through the
// SSH connection, and returns the status.
func (p *Proxy) request(ctx context.Context, r Route, method string) (int, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return p.s.Client().DialTCP(ctx, addr)
		},
		DisableKeepAlives: true,
	}
	scheme := "http"
	if r.TLS != nil {
		scheme, tr.TLSClientConfig = "https", tlsClientConfig(r)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	addr := net.JoinHostPort(loopbackFor(r.Bind), strconv.Itoa(r.Port))
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+addr+"/", nil)
	if err != nil {
		return 0, err
	}
	if r.Host != "" {
		req.Host = r.Host
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
