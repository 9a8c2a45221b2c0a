package main

import (
	"context"

	"github.com/goship-dev/goship/pipeline/job"
)

// Logs shows the serving release's container logs (under blue-green, the
// serving color's), on one host or every host of a fleet, each line
// prefixed with its host and merged in time order. With --follow it keeps
// reading new lines for --follow-for, showing each as it comes, then
// returns them.
// +cache="never"
func (s *Server) Logs(
	ctx context.Context,
	// Only lines since then: a duration back from now (10m, 2h) or an RFC 3339 time (2026-05-01T12:00:00Z).
	// +optional
	since string,
	// At most this many lines per host, the last ones (counted after --grep); default 100, -1 for all.
	// +optional
	tail int,
	// Keep reading new lines for --follow-for (or until the container stops), showing each as it comes, then return them all.
	// +optional
	follow bool,
	// How long --follow reads: a Dagger function returns once, so a follow always ends (at most 1h); default 30s.
	// +optional
	followFor string,
	// Only lines matching this regular expression (RE2 syntax; (?i) for case-insensitive).
	// +optional
	grep string,
) (string, error) {
	l := job.Logs{Since: since, Tail: tail, Follow: follow, Grep: grep}
	if err := durations(durationFlag{"follow-for", followFor, &l.FollowFor}); err != nil {
		return "", err
	}
	return onTarget(ctx, s, job.VerbLogs, job.Job{Logs: &l})
}

// Exec runs a one-off command in a new container of the serving
// release's image, with the release's .env, on the app's networks and
// with its volumes, not interactive and within --timeout; the container
// is removed afterwards. deploys.log records who ran what and how it
// ended. It returns the command's output; a non-zero exit is an error
// naming the host and the exit code. On a fleet it is refused unless one
// --host is given, or --every-host runs it on each host in turn.
// +cache="never"
func (s *Server) Exec(
	ctx context.Context,
	// The command: the arguments of the image's entrypoint (goship's images run the app binary, so --cmd="migrate up" runs /app migrate up). Quotes group words; nothing is expanded.
	cmd string,
	// How long the command may run before it is stopped and its container removed; default 5m.
	// +optional
	timeout string,
	// On a fleet, run the command on every host, one after another, stopping at the first failure.
	// +optional
	everyHost bool,
) (string, error) {
	e := job.Exec{Cmd: cmd, EveryHost: everyHost}
	if err := durations(durationFlag{"timeout", timeout, &e.Timeout}); err != nil {
		return "", err
	}
	return onTarget(ctx, s, job.VerbExec, job.Job{Exec: &e})
}

// Details says what runs on each host: the serving release, its image
// digest, strategy and color, and its container's state, health, start
// time (uptime) and restart count.
// +cache="never"
func (s *Server) Details(ctx context.Context) (string, error) {
	return onTarget(ctx, s, job.VerbDetails, job.Job{})
}
