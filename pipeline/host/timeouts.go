package host

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Timeouts bound the long remote steps of a deploy, so none can hang it:
// a registry that stops sending mid-blob, a compose up stuck on a wedged
// dockerd. When one passes, the step's process on the server is ended
// (sshconn.RunDeadline) and the error is an *sshconn.DeadlineError naming
// the step. Zero means the default.
type Timeouts struct {
	// Pull is the registry pull or the docker load of the image (default
	// 10m).
	Pull time.Duration
	// Up is one compose up, or the start of a kept blue-green container
	// (default 3m).
	Up time.Duration
	// Switch is blue-green's proxy switch (default 2m).
	Switch time.Duration
	// Migrate is the migration (default 10m).
	Migrate time.Duration
}

// Defaults of Timeouts, declared once for the pipeline and the root
// module's flags.
const (
	DefaultPullTimeout    = 10 * time.Minute
	DefaultUpTimeout      = 3 * time.Minute
	DefaultSwitchTimeout  = 2 * time.Minute
	DefaultMigrateTimeout = 10 * time.Minute
)

// quickStep bounds the short docker commands of a deploy (preflight,
// inspect, ps, tag): a dockerd that stopped answering fails them in a
// minute instead of hanging the deploy under its lock.
const quickStep = time.Minute

// probeStep bounds one look at the container during the gate; a probe
// that hangs fails like any other, and the gate's own timeout ends it.
const probeStep = 20 * time.Second

// WithDefaults fills the defaults and refuses negative values.
func (t Timeouts) WithDefaults() (Timeouts, error) {
	for _, f := range []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"pull", &t.Pull, DefaultPullTimeout},
		{"up", &t.Up, DefaultUpTimeout},
		{"switch", &t.Switch, DefaultSwitchTimeout},
		{"migrate", &t.Migrate, DefaultMigrateTimeout},
	} {
		switch {
		case *f.d < 0:
			return t, fmt.Errorf("%s timeout %s: must not be negative (0 means the default, %s)", f.name, *f.d, f.def)
		case *f.d == 0:
			*f.d = f.def
		}
	}
	return t, nil
}

// WithTimeouts is s with its long steps bounded by t (zero fields: the
// defaults).
func (s *App) WithTimeouts(t Timeouts) *App {
	cp := *s
	cp.timeouts = t
	return &cp
}

// Timeouts are s's step deadlines, defaults filled.
func (s *App) Timeouts() Timeouts {
	t, err := s.timeouts.WithDefaults()
	if err != nil { // validated with the spec; a stray negative gets the defaults
		t, _ = Timeouts{}.WithDefaults()
	}
	return t
}

// RunDeadline runs script on the server within timeout: when it passes,
// or ctx ends, the remote command is ended and the error is an
// *sshconn.DeadlineError naming what.
func (s *App) RunDeadline(ctx context.Context, what string, timeout time.Duration, script string, stdin io.Reader) (string, error) {
	return s.c.RunDeadline(ctx, what, timeout, script, stdin)
}
