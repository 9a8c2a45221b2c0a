package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/deploy"
	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Deploy ships an image to the server: a new release directory, the
// release started (in place with recreate, beside the running one with
// blue-green), a health gate with a settle window, and automatic rollback
// to the previous release when the gate fails.
// +cache="never"
func (s *Server) Deploy(
	ctx context.Context,
	// Image to run, ideally repo@sha256:… from publish. Empty with --transfer=ssh: the image built here.
	// +optional
	image string,
	// How the server gets the image: registry (pull) or ssh (docker load over the connection).
	// +optional
	// +default="registry"
	transfer string,
	// Registry username for the server's pull.
	// +optional
	registryUsername string,
	// Registry password for the server's pull (sent on stdin, removed after the pull).
	// +optional
	registryPassword *dagger.Secret,
	// Compose file; its service's image is pinned to the deployed one, relative paths resolve in <app-dir>/shared. Default: a generated one.
	// +optional
	compose *dagger.File,
	// Let the compose file mount paths outside <app-dir>/shared (absolute, ../, ~).
	// +optional
	allowOutsidePaths bool,
	// The app's .env file (secret; stored 0600 on the server).
	// +optional
	env *dagger.Secret,
	// Public port mapping, [ip:]hostPort:containerPort; default <port>:<port>.
	// +optional
	publish string,
	// recreate (replace the container in place) or blue-green (start beside it behind a shared Caddy proxy, switch when healthy); default: what the app runs now, recreate for a new app.
	// +optional
	strategy string,
	// blue-green: route only this host name to the app on its port (several apps can share a port).
	// +optional
	proxyHost string,
	// blue-green: the Caddy image of the shared proxy; default pinned by digest (the mirror applies).
	// +optional
	proxyImage string,
	// blue-green: how long the old release may finish in-flight requests after the switch; default 30s.
	// +optional
	drain string,
	// blue-green: the shared proxy's directory on the server (the deploy user must own it); default /opt/goship-proxy.
	// +optional
	proxyDir string,
	// HTTP path the health gate GETs through the SSH tunnel; "-" for the container HEALTHCHECK only.
	// +optional
	// +default="/healthz"
	healthPath string,
	// Host port the gate checks; default: the host port of publish.
	// +optional
	healthPort int,
	// How long the new release has to become healthy.
	// +optional
	// +default="60s"
	healthTimeout string,
	// How long it must then stay healthy (every probe passing, no restart) before it goes live.
	// +optional
	// +default="5s"
	healthSettle string,
	// Releases to keep.
	// +optional
	// +default=5
	keep int,
	// Fleet: how many hosts move at once.
	// +optional
	// +default=1
	parallel int,
	// Fleet: move the first host alone, let it serve this long (e.g. 2m), gate it again, then the rest; empty: no canary.
	// +optional
	canary string,
	// How long the server's pull (or docker load with --transfer=ssh) may take before it is ended, the previous release still serving; default 10m.
	// +optional
	pullTimeout string,
	// How long each compose up or container start may take before it is ended; default 3m.
	// +optional
	upTimeout string,
	// blue-green: how long the proxy switch may take before it is ended; default 2m.
	// +optional
	switchTimeout string,
	// Wait up to this long (e.g. 2m) for another deploy of the app to let go of its lock, logging who holds it, instead of failing at once.
	// +optional
	lockWait string,
	// Migration run once before the new release takes traffic (on a fleet, on the first host): a one-off container of the new release's service, with its image, .env and network; the image's entrypoint stays, so "migrate up" runs "<entrypoint> migrate up". If it fails, the previous release keeps serving. Keep secrets in --env, not here.
	// +optional
	migrate string,
	// How long --migrate may run before it is ended; default 10m.
	// +optional
	migrateTimeout string,
) (string, error) {
	req := fleet.Request{
		Spec: deploy.Spec{Image: image, AllowOutsidePaths: allowOutsidePaths, Publish: publish, Keep: keep,
			Health: deploy.Health{Path: healthPath, Port: healthPort}},
		Transfer: transfer, RegistryUsername: registryUsername,
		Strategy: strategy, ProxyHost: proxyHost, ProxyImage: proxyImage, ProxyDir: proxyDir, Drain: drain,
		HealthTimeout: healthTimeout, HealthSettle: healthSettle, Parallel: parallel, Canary: canary,
		PullTimeout: pullTimeout, UpTimeout: upTimeout, SwitchTimeout: switchTimeout, LockWait: lockWait,
		Migrate: migrate, MigrateTimeout: migrateTimeout,
	}
	var err error
	if req.Spec.Compose, err = fileBytes(ctx, compose); err != nil {
		return "", err
	}
	if req.Spec.Env, err = secretBytes(ctx, env); err != nil {
		return "", err
	}
	if registryPassword != nil {
		if _, req.RegistryPassword, err = trimmedSecret(ctx, "goship-deploy-registry-password", registryPassword); err != nil {
			return "", err
		}
	}
	return s.ship(ctx, req)
}

// ship fills in what the module knows (app, version, deployer, port, the
// proxy image through the mirror), checks the whole request before
// anything is built or dialed, and rolls it out to every host.
func (s *Server) ship(ctx context.Context, req fleet.Request) (string, error) {
	g := s.Goship
	cfgs, err := s.checkRequest(ctx, &req)
	if err != nil {
		return "", err
	}
	verified, err := s.verifyDeploy(ctx, &req)
	if err != nil {
		return "", err
	}
	if verified != "" {
		fmt.Fprintln(os.Stderr, verified)
	}
	if req.Transfer == "ssh" {
		path, cleanup, err := g.exportTarball(ctx)
		if err != nil {
			return "", err
		}
		defer cleanup()
		req.Tarball = path
	}
	plan, closeTarballs, err := req.Plan(cfgs)
	defer closeTarballs()
	if err != nil {
		return "", err
	}
	rep, err := fleet.Run(ctx, plan)
	return s.report(ctx, rep, err)
}

// checkRequest fills in what the module knows (app, version, deployer,
// port, the proxy image through the mirror, the certificate) and checks
// every flag of the request against every host, touching none of them.
func (s *Server) checkRequest(ctx context.Context, req *fleet.Request) ([]sshconn.Config, error) {
	g := s.Goship
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return nil, err
	}
	sp := &req.Spec
	sp.App, sp.AppDir, sp.Service, sp.ContainerPort = app, s.AppDir, s.Service, g.Port
	sp.Version, sp.Commit, sp.Who = g.runContext().Version(), g.Sha, g.who()
	if req.ProxyImage, err = g.proxyImage(req.ProxyImage); err != nil {
		return nil, err
	}
	if req.TLS, err = s.proxyTLS(ctx); err != nil {
		return nil, err
	}
	req.Log = os.Stderr
	_, closeTarballs, err := req.Plan(cfgs)
	closeTarballs()
	return cfgs, err
}

// report says how a deploy or rollback went and tells the webhooks; the
// outcome is the pipeline's, never read from the error.
func (s *Server) report(ctx context.Context, rep *fleet.Report, err error) (string, error) {
	var out []string
	if rep != nil {
		if sum := fleet.Summary(rep); sum != "" {
			out = append(out, sum)
		}
		if told := tellWebhooks(ctx, s.Notify, rep.Event()); told != "" {
			out = append(out, told)
		}
	}
	text := strings.Join(out, "\n")
	if err != nil {
		if text == "" {
			return "", err
		}
		return "", fmt.Errorf("%w\n%s", err, text)
	}
	return text, nil
}

// fileBytes is f's content, nil for no file.
func fileBytes(ctx context.Context, f *dagger.File) ([]byte, error) {
	if f == nil {
		return nil, nil
	}
	data, err := f.Contents(ctx)
	return []byte(data), err
}

// secretBytes is sec's plaintext, nil for no secret.
func secretBytes(ctx context.Context, sec *dagger.Secret) ([]byte, error) {
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Plaintext(ctx)
	return []byte(data), err
}

// proxyImage is the given proxy image, or with a mirror the pinned
// default through it; empty leaves the choice to the deploy (the default,
// or what the app's proxy runs now).
func (g *Goship) proxyImage(given string) (string, error) {
	if given != "" || g.Mirror == "" {
		return given, nil
	}
	return image.Mirror(deploy.DefaultProxyImage().Ref(), g.Mirror)
}

// exportTarball writes the runtime image as a docker-loadable tarball into
// the module's own filesystem and returns its path; the server tags the
// loaded image with the release's reference (see deploy.SSH).
func (g *Goship) exportTarball(ctx context.Context) (string, func(), error) {
	img, err := g.Build(ctx)
	if err != nil {
		return "", nil, err
	}
	return exportTemp(ctx, img.AsTarball(dagger.ContainerAsTarballOpts{MediaTypes: dagger.ImageMediaTypesDockerMediaTypes}), "image.tar")
}

// Rollback brings back the previous healthy release (or a named one),
// gated the way that release was gated when it was deployed. On a fleet
// every host goes back to its own previous healthy release, one host at a
// time (release names carry each host's deploy time, so --to names one
// host's release).
// +cache="never"
func (s *Server) Rollback(
	ctx context.Context,
	// Release to return to (see releases); default: the previous healthy one. One host only.
	// +optional
	to string,
	// How long the release has to become healthy.
	// +optional
	// +default="60s"
	healthTimeout string,
	// How long it must then stay healthy.
	// +optional
	// +default="5s"
	healthSettle string,
	// With the server's --verify-key: roll back to a release whose image is not signed by it (e.g. one sent over SSH).
	// +optional
	allowUnsigned bool,
	// Registry username to read the target image's signature with (--verify-key).
	// +optional
	registryUsername string,
	// Registry password to read the target image's signature with.
	// +optional
	registryPassword *dagger.Secret,
	// Wait up to this long (e.g. 2m) for a deploy of the app in progress to let go of its lock, logging who holds it, instead of failing at once.
	// +optional
	lockWait string,
) (string, error) {
	d, err := fleet.ParseDurations(map[string]string{"health-timeout": healthTimeout, "health-settle": healthSettle, "lock-wait": lockWait})
	if err != nil {
		return "", err
	}
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	pw, err := optionalSecret(ctx, "goship-verify-registry-password", registryPassword)
	if err != nil {
		return "", err
	}
	rep, err := fleet.Rollback(ctx, cfgs, deploy.RollbackSpec{
		App: app, AppDir: s.AppDir, Service: s.Service, To: to, Who: s.Goship.who(),
		Health:   deploy.Health{Timeout: d["health-timeout"], Settle: d["health-settle"]},
		Verify:   s.Goship.verifyHook(s.VerifyKey, allowUnsigned, registryUsername, pw),
		LockWait: d["lock-wait"],
		LockWaiting: func(e *deploy.LockedError) {
			fmt.Fprintln(os.Stderr, e.Waiting(d["lock-wait"]))
		},
	})
	return s.report(ctx, rep, err)
}

// Release runs ci, then publish, then deploy to this server, and returns
// the deployed reference. Nothing is pushed unless every check passes;
// nothing is deployed unless the push verified. With --sign-key the
// image is signed as it is published, and with the server's --verify-key
// checked before it is deployed.
// +cache="never"
func (s *Server) Release(
	ctx context.Context,
	// Registry host (see publish).
	registryHost string,
	// +optional
	namespace string,
	// +optional
	repository string,
	// Registry username, for the push and the server's pull.
	username string,
	// Registry password.
	password *dagger.Secret,
	// +optional
	compose *dagger.File,
	// +optional
	env *dagger.Secret,
	// +optional
	publish string,
	// +optional
	strategy string,
	// +optional
	// +default="/healthz"
	healthPath string,
	// +optional
	// +default="60s"
	healthTimeout string,
	// Private key that signs the published image (see publish).
	// +optional
	signKey *dagger.Secret,
	// Password of an encrypted --sign-key.
	// +optional
	signPassword *dagger.Secret,
	// The CI run the gate statement names (see publish).
	// +optional
	workflowRun string,
	// Wait up to this long for another deploy's lock (see deploy).
	// +optional
	lockWait string,
	// Migration run once before the new release takes traffic (see deploy).
	// +optional
	migrate string,
	// How long --migrate may run; default 10m.
	// +optional
	migrateTimeout string,
) (string, error) {
	req := fleet.Request{Spec: deploy.Spec{Publish: publish, Health: deploy.Health{Path: healthPath}},
		Transfer: "registry", RegistryUsername: username, Strategy: strategy, HealthTimeout: healthTimeout,
		LockWait: lockWait, Migrate: migrate, MigrateTimeout: migrateTimeout}
	var err error
	if req.Spec.Compose, err = fileBytes(ctx, compose); err != nil {
		return "", err
	}
	if req.Spec.Env, err = secretBytes(ctx, env); err != nil {
		return "", err
	}
	if _, req.RegistryPassword, err = trimmedSecret(ctx, "goship-deploy-registry-password", password); err != nil {
		return "", err
	}
	// The deploy's flags are checked before CI and publish run: a bad
	// --publish must not cost a build and a push. The image is publish's
	// own; a stand-in on the same registry checks the rest.
	check := req
	check.Spec.Image = registryHost + "/goship-release-check@sha256:" + strings.Repeat("0", 64)
	if _, err := s.checkRequest(ctx, &check); err != nil {
		return "", fmt.Errorf("release stopped before CI: the deploy would be refused: %w", err)
	}
	ref, err := s.Goship.ciAndPublish(ctx, registryHost, namespace, repository, username, password, releaseSigning{signKey, signPassword, workflowRun})
	if err != nil {
		return "", err
	}
	req.Spec.Image = ref
	out, err := s.ship(ctx, req)
	if err != nil {
		return "", fmt.Errorf("published %s, but the deploy failed: %w", ref, err)
	}
	fmt.Println(out)
	return ref, nil
}

// who names the deployer in release.json, deploys.log and notifications.
func (g *Goship) who() string {
	ref := g.Ref
	if ref == "" {
		ref = "local"
	}
	sha := g.Sha
	if len(sha) > 8 {
		sha = sha[:8]
	}
	return "goship " + ref + "@" + sha
}
