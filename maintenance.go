package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Maintenance turns maintenance mode on or off for the app behind the
// blue-green proxy, on every host: chain on or off.
type Maintenance struct {
	// +private
	Server *Server
}

// Maintenance mode for a blue-green app: `maintenance on` makes the
// proxy answer every request for the app with 503, a small HTML page and
// Retry-After, while its containers keep running; `maintenance off`
// routes requests to the serving color again. Deploys and rollbacks keep
// it on (their health gates check the new color directly). A recreate
// app has no proxy to answer for it: deploy it with
// --strategy=blue-green first.
func (s *Server) Maintenance() *Maintenance {
	return &Maintenance{Server: s}
}

// On puts the app into maintenance on every host: 503 with the page and
// Retry-After to every request, containers untouched.
// +cache="never"
func (m *Maintenance) On(
	ctx context.Context,
	// Text of the page (plain text, shown as is); default: a short notice.
	// +optional
	message string,
	// How long clients should wait before trying again (the Retry-After header), e.g. 10m.
	// +optional
	// +default="5m"
	retryAfter string,
) (string, error) {
	d, err := fleet.ParseDurations(map[string]string{"retry-after": retryAfter})
	if err != nil {
		return "", err
	}
	page, err := proxy.NewMaintenance(message, d["retry-after"])
	if err != nil {
		return "", err
	}
	return m.set(ctx, page)
}

// Off takes the app out of maintenance on every host: requests reach the
// serving color again.
// +cache="never"
func (m *Maintenance) Off(ctx context.Context) (string, error) {
	return m.set(ctx, nil)
}

// set turns maintenance on (page) or off (nil) host by host, and says
// what each host did.
func (m *Maintenance) set(ctx context.Context, page *proxy.Maintenance) (string, error) {
	app, cfgs, err := m.Server.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	var done []string
	var errs []error
	for _, cfg := range cfgs {
		out, err := setOn(ctx, cfg, app, m.Server.AppDir, page)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cfg.Addr(), err))
			continue
		}
		done = append(done, out)
	}
	if len(errs) > 0 {
		if len(done) > 0 {
			errs = append(errs, fmt.Errorf("done on the other hosts:\n%s", strings.Join(done, "\n")))
		}
		return "", errors.Join(errs...)
	}
	return strings.Join(done, "\n"), nil
}

func setOn(ctx context.Context, cfg sshconn.Config, app, appDir string, page *proxy.Maintenance) (string, error) {
	c, err := sshconn.Dial(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	return proxy.SetAppMaintenance(ctx, c, app, appDir, page)
}
