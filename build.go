package main

import (
	"context"
	"sort"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/gobuild"
	"github.com/goship-dev/goship/pipeline/image"
)

// Binary builds the static binary (CGO off, -trimpath, stamped with
// version, commit and date) for one platform.
func (g *Goship) Binary(
	ctx context.Context,
	// Target platform, e.g. linux/arm64; default: the first of platforms.
	// +optional
	platform string,
) (*dagger.File, error) {
	if platform == "" {
		platform = g.Platforms[0]
	}
	target, err := gobuild.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	rc := g.runContext()
	ldflags, err := gobuild.LDFlags(gobuild.Stamp{Version: rc.Version(), Commit: g.Sha, Date: g.Created}, g.LinkVars)
	if err != nil {
		return nil, err
	}
	pkg, err := g.mainPkg(ctx)
	if err != nil {
		return nil, err
	}
	app, err := g.appName(ctx)
	if err != nil {
		return nil, err
	}
	out := "/out/" + app
	c, err := g.goEnv(ctx)
	if err != nil {
		return nil, err
	}
	c = withToolGC(c)
	// Sorted, not map order: a different order is a different cache key.
	for _, kv := range gobuild.SortedEnv(gobuild.Env(target)) {
		k, v, _ := strings.Cut(kv, "=")
		c = c.WithEnvVariable(k, v)
	}
	// /out is a mount: outputs read from the image's own filesystem cost a
	// snapshot of it.
	return c.WithMountedDirectory("/out", dag.Directory()).WithExec(gobuild.BuildArgs(pkg, out, ldflags)).File(out), nil
}

// Build is the runtime image: the binary on an empty (or the given) base,
// with CA certificates and Go's zoneinfo, non-root user 65532, OCI labels
// and, when configured, a HEALTHCHECK. With dockerfile set, the project's
// own Dockerfile is built instead. It returns the first platform's image;
// publish pushes all platforms.
func (g *Goship) Build(ctx context.Context) (*dagger.Container, error) {
	variants, err := g.platformImages(ctx)
	if err != nil {
		return nil, err
	}
	return variants[0], nil
}

// platformImages builds the runtime image for every platform.
func (g *Goship) platformImages(ctx context.Context) ([]*dagger.Container, error) {
	var out []*dagger.Container
	for _, p := range g.Platforms {
		c, err := g.runtimeImage(ctx, p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (g *Goship) runtimeImage(ctx context.Context, platform string) (*dagger.Container, error) {
	rc := g.runContext()
	// No source label without a known remote: a made-up one would mislead.
	labels := image.OCILabels(g.Sha, rc.Version(), g.SourceURL, rc.Time)
	var c *dagger.Container
	if g.Dockerfile != "" {
		c = g.moduleDir().DockerBuild(dagger.DirectoryDockerBuildOpts{Dockerfile: g.Dockerfile, Platform: dagger.Platform(platform)})
	} else {
		bin, err := g.Binary(ctx, platform)
		if err != nil {
			return nil, err
		}
		base, spec, err := g.runtimeBase(platform)
		if err != nil {
			return nil, err
		}
		c = base.WithFile(spec.BinaryPath, bin, dagger.ContainerWithFileOpts{Permissions: 0o755})
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys) // stable call order, stable cache key
	for _, k := range keys {
		c = c.WithLabel(k, labels[k])
	}
	return c, nil
}

// runtimeBase is goship's runtime image without the binary: the base (or
// nothing), CA certificates and Go's zoneinfo, the non-root user, port,
// entrypoint and health check. Nothing in it depends on the source, so it
// is built once; scan reuses its root filesystem.
func (g *Goship) runtimeBase(platform string) (*dagger.Container, image.RuntimeSpec, error) {
	spec := image.DefaultRuntimeSpec(g.Port)
	if err := spec.Validate(); err != nil {
		return nil, spec, err
	}
	goRoot := dag.Container().From(g.GoImage)
	c := dag.Container(dagger.ContainerOpts{Platform: dagger.Platform(platform)})
	if g.RuntimeBase != "" {
		c = c.From(g.RuntimeBase)
	}
	c = c.
		// Certificates and time zones from the build image: a scratch
		// image has neither, and Go's zoneinfo.zip is far smaller than
		// /usr/share/zoneinfo.
		WithFile("/etc/ssl/certs/ca-certificates.crt", goRoot.File("/etc/ssl/certs/ca-certificates.crt")).
		WithFile("/usr/local/go/lib/time/zoneinfo.zip", goRoot.File("/usr/local/go/lib/time/zoneinfo.zip")).
		WithEnvVariable("ZONEINFO", "/usr/local/go/lib/time/zoneinfo.zip").
		WithEnvVariable("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt").
		WithUser(spec.User).
		WithWorkdir(spec.Workdir).
		WithExposedPort(spec.Port).
		WithEntrypoint([]string{spec.BinaryPath})
	if g.Healthcheck != "" {
		c = c.WithDockerHealthcheck([]string{spec.BinaryPath, g.Healthcheck}, dagger.ContainerWithDockerHealthcheckOpts{
			Interval: "10s", Timeout: "3s", StartPeriod: "5s", Retries: 3,
		})
	}
	return c, spec, nil
}
