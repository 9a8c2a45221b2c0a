package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/registry"
)

// MirrorImages copies goship's default tool images (Go, golangci-lint,
// Trivy) into a registry prefix, keeping their digests, so that
// --mirror=<prefix> works where Docker Hub is blocked. Run it once from
// where Docker Hub is reachable, e.g. a GitHub Actions runner.
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
	host, namespace, _ := strings.Cut(to, "/")
	h, err := registry.ParseHost(host)
	if err != nil {
		return "", err
	}
	if _, err := registry.NewRepository(h, namespace, "probe"); err != nil && h.IsACR() {
		return "", err
	}
	jobs, err := image.MirrorPlan(to)
	if err != nil {
		return "", err
	}
	_, plain, err := trimmedSecret(ctx, "goship-mirror-password", password)
	if err != nil {
		return "", err
	}
	trust, err := g.trust(ctx)
	if err != nil {
		return "", err
	}
	creds := []registry.Option{registry.WithCredentials(registry.Credentials{Username: username, Password: plain}), registry.WithTrust(trust)}
	var done []string
	for _, j := range jobs {
		if err := registry.Copy(ctx, j.From, j.To, creds...); err != nil {
			return "", err
		}
		done = append(done, fmt.Sprintf("%s -> %s", j.From, j.To))
	}
	return strings.Join(done, "\n"), nil
}
