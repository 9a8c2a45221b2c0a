package compose

import (
	"context"
	"fmt"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// State is what runs now.
type State struct {
	Release   host.Record
	Container string // container status: running, exited, …
	Health    string // healthy, unhealthy, starting, none
	Image     string // image ID the container runs
	Matches   bool   // the container runs the current release's image
	// Strategy says how the current release runs, in its strategy's
	// words (e.g. "blue-green, color blue").
	Strategy string
	// Proxy is what the shared proxy does for the app (maintenance,
	// HTTPS), when its strategy serves it through one.
	Proxy *proxy.AppStatus
}

// Status reports the current release and its container.
func Status(ctx context.Context, c *sshconn.Client, app, appDir, service string) (*State, error) {
	s, err := host.Open(c, app, appDir, service)
	if err != nil {
		return nil, err
	}
	if err := s.Preflight(ctx, 0); err != nil {
		return nil, err
	}
	rec, how, err := current(ctx, s)
	if err != nil {
		return nil, err
	}
	st := &State{Release: rec, Container: "absent", Health: "none", Strategy: how.label(rec)}
	run := how.serving(s, rec)
	if id, err := run.ContainerID(ctx, rec.Name); err == nil {
		cs, err := run.Inspect(ctx, id)
		if err != nil {
			return nil, err
		}
		st.Container, st.Health, st.Image = cs.Status, cs.Health, cs.Image
		st.Matches = cs.Image == rec.ImageID
	}
	if err := how.status(ctx, s, rec, st); err != nil {
		return nil, err
	}
	return st, nil
}

// current is the record of a's current release and its strategy.
func current(ctx context.Context, a *host.App) (host.Record, strategy, error) {
	cur, err := a.Current(ctx)
	if err != nil {
		return host.Record{}, nil, err
	}
	if cur == "" {
		return host.Record{}, nil, fmt.Errorf("%s has never been deployed to %s", a.Name(), a.Target())
	}
	rec, err := a.Release(ctx, cur)
	if err != nil {
		return rec, nil, err
	}
	st, err := forRecord(rec)
	return rec, st, err
}

// SetMaintenance turns maintenance on (m) or off (nil) for app on c's
// server, the way its current release's strategy serves it (blue-green:
// the proxy answers 503 while the containers run; recreate has nothing
// that could answer, and refuses). It takes no deploy lock: a deploy
// never touches the page, so maintenance can go on while a long deploy
// runs. It says what it did.
func SetMaintenance(ctx context.Context, c *sshconn.Client, app, appDir string, m *proxy.Maintenance) (string, error) {
	a, err := host.Open(c, app, appDir, "")
	if err != nil {
		return "", err
	}
	rec, st, err := current(ctx, a)
	if err != nil {
		return "", err
	}
	return st.maintenance(ctx, a, rec, m)
}

// BreakLock ends a hung deploy's hold on the lock and says whose it was.
func BreakLock(ctx context.Context, c *sshconn.Client, app, appDir string) (host.LockOwner, error) {
	s, err := host.Open(c, app, appDir, "")
	if err != nil {
		return host.LockOwner{}, err
	}
	return s.BreakLock(ctx)
}

// FormatStatus renders a State for people.
func FormatStatus(st *State) string {
	verdict := "OK"
	switch {
	case st.Container != "running":
		verdict = "DOWN"
	case !st.Matches:
		verdict = "DRIFT: the container does not run the current release's image"
	case st.Health == "unhealthy":
		verdict = "UNHEALTHY"
	}
	out := fmt.Sprintf("%s: release %s (%s, version %s)\ncontainer: %s, health: %s\nstrategy: %s\n",
		verdict, st.Release.Name, st.Release.Image, orDash(st.Release.Version), st.Container, st.Health, st.Strategy)
	if st.Proxy != nil {
		out += "proxy: " + st.Proxy.String() + "\n"
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
