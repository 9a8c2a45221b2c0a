package main

import (
	"context"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// MirrorImages copies goship's default images (Go, golangci-lint, Trivy,
// the blue-green proxy's Caddy) into a registry prefix, keeping their
// digests, so that --mirror=<prefix> works where Docker Hub is blocked.
// Run it once from where Docker Hub is reachable, e.g. a GitHub Actions
// runner.
// +cache="never"
func (g *Goship) MirrorImages(
	ctx context.Context,
	// Registry prefix, e.g. registry.cn-hangzhou.aliyuncs.com/goship-mirror.
	to string,
	// Username for the mirror registry.
	username string,
	// Password for the mirror registry.
	password *dagger.Secret,
) (string, error) {
	m := &mounts{}
	mr := job.Mirror{To: to, Push: &job.Credentials{Username: username, Password: m.secret("registry-password", password)}}
	return output(g.run(ctx, job.Job{Verb: job.VerbMirror, Mirror: &mr}, m))
}
