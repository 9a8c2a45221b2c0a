// Package ops is goship's day-2 verbs on a deployed app, so users never
// leave goship for raw ssh: the serving release's logs (logs.go), a
// one-off command in a new container of its image (exec.go), and what
// runs where (details.go). Each verb reads the serving release from the
// app's records on every host (under blue-green, the serving color's
// container); nothing here changes what serves.
//
// Every verb validates its input before it connects anywhere, runs its
// remote steps with a deadline, and returns typed values per host that
// the Format functions render for people.
package ops

import (
	"context"
	"fmt"
	"sync"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Target is an app on one host.
type Target struct {
	SSH     sshconn.Config
	App     string
	AppDir  string // default /opt/<App>
	Service string // default app
}

// Host names the target's host in output: host:port.
func (t Target) Host() string { return t.SSH.Addr() }

// Targets is one app on every host, as a fleet runs it.
func Targets(hosts []sshconn.Config, app, appDir, service string) []Target {
	ts := make([]Target, len(hosts))
	for i, h := range hosts {
		ts[i] = Target{SSH: h, App: app, AppDir: appDir, Service: service}
	}
	return ts
}

// locate validates where every target's app lives, before any connects.
func locate(targets []Target) error {
	if len(targets) == 0 {
		return fmt.Errorf("no hosts: give --host (repeat it for a fleet) or --hosts-file")
	}
	for _, t := range targets {
		if _, _, err := host.Locate(t.App, t.AppDir, t.Service); err != nil {
			return err
		}
	}
	return nil
}

// maxDials bounds concurrent connections, as fleet reads do.
const maxDials = 8

// each connects to every target, at most maxDials at a time, and runs fn
// on its app; fn gets the target's index. A failed dial goes to fail.
func each(ctx context.Context, targets []Target, fn func(ctx context.Context, i int, a *host.App), fail func(i int, err error)) {
	sem := make(chan struct{}, maxDials)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a, closeConn, err := open(ctx, t)
			if err != nil {
				fail(i, err)
				return
			}
			defer closeConn()
			fn(ctx, i, a)
		}()
	}
	wg.Wait()
}

// open dials t and opens its app.
func open(ctx context.Context, t Target) (*host.App, func(), error) {
	c, err := sshconn.Dial(ctx, t.SSH)
	if err != nil {
		return nil, nil, err
	}
	a, err := host.Open(c, t.App, t.AppDir, t.Service)
	if err != nil {
		_ = c.Close()
		return nil, nil, err
	}
	return a, func() { _ = c.Close() }, nil
}

// serving is the current release of a and how it runs (see
// compose.ServingOf).
func serving(ctx context.Context, a *host.App) (host.Record, compose.Serving, error) {
	cur, err := a.Current(ctx)
	if err != nil {
		return host.Record{}, compose.Serving{}, err
	}
	if cur == "" {
		return host.Record{}, compose.Serving{}, fmt.Errorf("%s has never been deployed to %s (no current release under %s)", a.Name(), a.Target(), a.Dir())
	}
	rec, err := a.Release(ctx, cur)
	if err != nil {
		return host.Record{}, compose.Serving{}, fmt.Errorf("reading the current release on %s: %w", a.Target(), err)
	}
	return rec, compose.ServingOf(a, rec), nil
}

// servingContainer is the current release, how it runs, and its
// container's ID.
func servingContainer(ctx context.Context, a *host.App) (host.Record, compose.Serving, string, error) {
	rec, s, err := serving(ctx, a)
	if err != nil {
		return rec, s, "", err
	}
	id, err := s.App.ContainerID(ctx, rec.Name)
	if err != nil {
		return rec, s, "", fmt.Errorf("%s on %s: %w (compose project %s): redeploy or roll back to bring it back", a.Name(), a.Target(), err, s.App.Project())
	}
	return rec, s, id, nil
}
