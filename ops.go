package main

import (
	"context"
	"fmt"
	"os"

	"github.com/goship-dev/goship/pipeline/ops"
)

// Logs shows the serving release's container logs (under blue-green, the
// serving color's), on one host or every host of a fleet, each line
// prefixed with its host and merged in time order. With --follow it keeps
// reading new lines for --follow-for, then returns them.
// +cache="never"
func (s *Server) Logs(
	ctx context.Context,
	// Only lines since then: a duration back from now (10m, 2h) or an RFC 3339 time (2026-05-01T12:00:00Z).
	// +optional
	since string,
	// At most this many lines per host, the last ones (counted after --grep); 0 for all.
	// +optional
	// +default=100
	tail int,
	// Keep reading new lines for --follow-for (or until the container stops), showing each as it comes, then return them all.
	// +optional
	follow bool,
	// How long --follow reads: a Dagger function returns once, so a follow always ends (at most 1h).
	// +optional
	// +default="30s"
	followFor string,
	// Only lines matching this regular expression (RE2 syntax; (?i) for case-insensitive).
	// +optional
	grep string,
) (string, error) {
	o := ops.LogsOptions{Since: since, Tail: tail, Follow: follow, Grep: grep, For: ops.DefaultFollowFor}
	if err := parseDurationFlags(durationFlag{"follow-for", followFor, &o.For}); err != nil {
		return "", err
	}
	if follow {
		// A function returns once: its stderr is what shows while it runs.
		o.Live = func(host string, l ops.LogLine) { fmt.Fprint(os.Stderr, l.Format(host)) }
	}
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	views, err := ops.Logs(ctx, ops.Targets(cfgs, app, s.AppDir, s.Service), o)
	if err != nil {
		return "", err
	}
	return ops.FormatLogs(views)
}

// Exec runs a one-off command in a new container of the serving
// release's image, with the release's .env, on the app's networks and
// with its volumes, not interactive and within --timeout; the container
// is removed afterwards. deploys.log records who ran what and how it
// ended. It returns the command's output; a non-zero exit is an error
// naming the host and the exit code. A fleet runs it on one host unless
// --every-host.
// +cache="never"
func (s *Server) Exec(
	ctx context.Context,
	// The command: the arguments of the image's entrypoint (goship's images run the app binary, so --cmd="migrate up" runs /app migrate up). Quotes group words; nothing is expanded.
	cmd string,
	// How long the command may run before it is stopped and its container removed.
	// +optional
	// +default="5m"
	timeout string,
	// On a fleet, run the command on every host, one after another, stopping at the first failure.
	// +optional
	everyHost bool,
) (string, error) {
	spec := ops.ExecSpec{Cmd: cmd, Who: s.Goship.who()}
	if err := parseDurationFlags(durationFlag{"timeout", timeout, &spec.Timeout}); err != nil {
		return "", err
	}
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	if len(cfgs) > 1 && !everyHost {
		return "", fmt.Errorf("exec runs a one-off command on one host, and this server is a fleet of %d: give one --host, or --every-host to run it on each, one after another", len(cfgs))
	}
	results, err := ops.Exec(ctx, ops.Targets(cfgs, app, s.AppDir, s.Service), spec)
	if err != nil {
		if len(results) > 0 {
			return "", fmt.Errorf("%w\n(it had succeeded on: %s)", err, hostsOf(results))
		}
		return "", err
	}
	return ops.FormatExec(results), nil
}

// Details says what runs on each host: the serving release, its image
// digest, strategy and color, and its container's state, health, start
// time (uptime) and restart count.
// +cache="never"
func (s *Server) Details(ctx context.Context) (string, error) {
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	views, err := ops.Details(ctx, ops.Targets(cfgs, app, s.AppDir, s.Service))
	if err != nil {
		return "", err
	}
	return ops.FormatDetails(views)
}

func hostsOf(results []*ops.ExecResult) string {
	s := ""
	for i, r := range results {
		if i > 0 {
			s += ", "
		}
		s += r.Host
	}
	return s
}
