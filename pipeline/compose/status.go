package compose

import (
	"context"
	"fmt"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// State is what runs now.
type State struct {
	Release   host.Record
	Container string // container status: running, exited, …
	Health    string // healthy, unhealthy, starting, none
	Image     string // image ID the container runs
	Matches   bool   // the container runs the current release's image
	// Strategy is how the current release went live; Color is the
	// blue-green color serving (empty for recreate).
	Strategy Strategy
	Color    string
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
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, err
	}
	if cur == "" {
		return nil, fmt.Errorf("%s has never been deployed to %s", app, c.Target())
	}
	rec, err := s.Release(ctx, cur)
	if err != nil {
		return nil, err
	}
	st := &State{Release: rec, Container: "absent", Health: "none", Strategy: strategyOf(rec), Color: rec.Color}
	if rec.Color != "" { // a blue-green release runs as its color
		s = inColor(s, rec.Color)
	}
	if id, err := s.ContainerID(ctx, cur); err == nil {
		cs, err := s.Inspect(ctx, id)
		if err != nil {
			return nil, err
		}
		st.Container, st.Health, st.Image = cs.Status, cs.Health, cs.Image
		st.Matches = cs.Image == rec.ImageID
	}
	return st, nil
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
	return fmt.Sprintf("%s: release %s (%s, version %s)\ncontainer: %s, health: %s\nstrategy: %s, serving color: %s\n",
		verdict, st.Release.Name, st.Release.Image, orDash(st.Release.Version), st.Container, st.Health, st.Strategy, orDash(st.Color))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
