package main

import (
	"context"

	"github.com/goship-dev/goship/pipeline/job"
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
// app has no proxy to answer for it: deploy it with with-blue-green first.
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
	// How long clients should wait before trying again (the Retry-After header), e.g. 10m; default 5m.
	// +optional
	retryAfter string,
) (string, error) {
	mt := job.Maintenance{On: true, Message: message}
	if err := durations(durationFlag{"retry-after", retryAfter, &mt.RetryAfter}); err != nil {
		return "", err
	}
	return onTarget(ctx, m.Server, job.VerbMaintenance, job.Job{Maintenance: &mt})
}

// Off takes the app out of maintenance on every host: requests reach the
// serving color again.
// +cache="never"
func (m *Maintenance) Off(ctx context.Context) (string, error) {
	return onTarget(ctx, m.Server, job.VerbMaintenance, job.Job{Maintenance: &job.Maintenance{}})
}
