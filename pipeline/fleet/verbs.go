package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// The verbs here take any number of hosts: one host is a fleet of one, so
// the root module never branches on how many there are.

// Rollback brings every host back to its previous healthy release (or,
// on one host, the release spec.To names), one host at a time. The
// report is returned even with an error; its Outcome is the worst over
// the hosts.
func Rollback(ctx context.Context, hosts []sshconn.Config, spec compose.RollbackSpec) (*Report, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("fleet: no hosts")
	}
	if spec.To != "" && len(hosts) > 1 {
		return nil, fmt.Errorf("--to names one host's release (names carry each host's deploy time): roll a fleet back without --to, or give one --host")
	}
	start := time.Now()
	rep := &Report{Verb: notify.Rollback, App: spec.App, Who: spec.Who, Outcome: outcome.Succeeded}
	var errs []error
	for _, cfg := range hosts {
		h := HostReport{Host: cfg.Addr()}
		hostStart := time.Now()
		res, err := rollbackHost(ctx, cfg, spec)
		h.Took = time.Since(hostStart)
		if res != nil {
			h.Previous, h.New, h.Image, h.Outcome, h.Schema = res.Previous, res.Release, res.Image, res.Outcome, res.Schema
		}
		if err != nil {
			h.Error = err.Error()
			if h.Outcome == "" || h.Outcome == outcome.Succeeded {
				h.Outcome = outcome.Failed
			}
			errs = append(errs, &HostError{Host: cfg.Addr(), Err: err})
		} else {
			h.Serving = res.Release
		}
		rep.Outcome = outcome.Worst(rep.Outcome, h.Outcome)
		rep.Hosts = append(rep.Hosts, h)
	}
	rep.Took = time.Since(start)
	return rep, errors.Join(errs...)
}

func rollbackHost(ctx context.Context, cfg sshconn.Config, spec compose.RollbackSpec) (*compose.Result, error) {
	c, err := sshconn.Dial(ctx, cfg)
	if err != nil {
		return &compose.Result{Outcome: outcome.Unchanged}, err
	}
	defer func() { _ = c.Close() }()
	return compose.Rollback(ctx, c, spec)
}

// Unlock breaks the deploy lock of a hung deploy on one host and says
// whose it was; a fleet's locks are broken one host at a time.
func Unlock(ctx context.Context, hosts []sshconn.Config, app, appDir string) (host.LockOwner, error) {
	if len(hosts) != 1 {
		return host.LockOwner{}, fmt.Errorf("unlock breaks one host's lock: give one --host")
	}
	c, err := sshconn.Dial(ctx, hosts[0])
	if err != nil {
		return host.LockOwner{}, err
	}
	defer func() { _ = c.Close() }()
	return compose.BreakLock(ctx, c, app, appDir)
}

// SetMaintenance turns maintenance on (m) or off (nil) for app on every
// host, one at a time, the way each host's current release is served
// (see compose.SetMaintenance), and says what each host did. The error
// names each host that failed, and what was done on the others.
func SetMaintenance(ctx context.Context, hosts []sshconn.Config, app, appDir string, m *proxy.Maintenance) (string, error) {
	if len(hosts) == 0 {
		return "", fmt.Errorf("fleet: no hosts")
	}
	var done []string
	var errs []error
	for _, cfg := range hosts {
		out, err := setMaintenance(ctx, cfg, app, appDir, m)
		if err != nil {
			errs = append(errs, &HostError{Host: cfg.Addr(), Err: err})
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

func setMaintenance(ctx context.Context, cfg sshconn.Config, app, appDir string, m *proxy.Maintenance) (string, error) {
	c, err := sshconn.Dial(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer func() { _ = c.Close() }()
	return compose.SetMaintenance(ctx, c, app, appDir, m)
}

// Summary says how a deploy or rollback went: a line per host, or for a
// fleet deploy the table of FormatReport.
func Summary(r *Report) string {
	if r.Verb == notify.Rollback {
		var lines []string
		for _, h := range r.Hosts {
			if h.Error == "" {
				lines = append(lines, fmt.Sprintf("rolled back %s on %s to %s (%s); was %s", r.App, h.Host, h.New, h.Image, orNoneWord(h.Previous)))
			}
			if h.Schema != "" {
				lines = append(lines, h.Host+": "+h.Schema)
			}
		}
		return strings.Join(lines, "\n")
	}
	if len(r.Hosts) == 1 {
		// A fleet of one: its error says what failed.
		h := r.Hosts[0]
		if r.Outcome != outcome.Succeeded {
			return ""
		}
		return fmt.Sprintf("deployed %s as release %s on %s in %s (previous: %s)", r.Image, h.New, h.Host, h.Took.Round(time.Millisecond), orNoneWord(h.Previous))
	}
	return FormatReport(r)
}

// FormatHostReleases renders releases: one host's table, or a fleet's
// with its drift.
func FormatHostReleases(views []HostView) (string, error) {
	if len(views) == 1 {
		if views[0].Err != nil {
			return "", views[0].Err
		}
		return compose.FormatReleases(views[0].Releases), nil
	}
	return FormatReleases(views), nil
}

// FormatHostStatus renders status: one host's state, or a fleet's table
// with its drift.
func FormatHostStatus(views []HostView) (string, error) {
	if len(views) == 1 {
		if views[0].Err != nil {
			return "", views[0].Err
		}
		return compose.FormatStatus(views[0].State), nil
	}
	return FormatStatus(views), nil
}

func orNoneWord(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
