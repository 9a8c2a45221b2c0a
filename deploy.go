package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/deploy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// target is where deploy, rollback and releases connect.
type target struct {
	host       string
	port       int
	user       string
	key        *dagger.Secret
	passphrase *dagger.Secret
	knownHosts *dagger.Secret
}

// dial validates the target, then connects with the host key pinned.
func (t target) dial(ctx context.Context) (*sshconn.Client, error) {
	cfg := sshconn.Config{Host: t.host, Port: t.port, User: t.user}
	if err := sshconn.ValidateHost(t.host); err != nil {
		return nil, err
	}
	if t.knownHosts == nil {
		return nil, fmt.Errorf("--known-hosts is required: the server's host key must be pinned (ssh-keyscan, then verify the fingerprint)")
	}
	if t.key == nil {
		return nil, fmt.Errorf("--key is required: the deploy user's private key, e.g. --key=file://$HOME/.ssh/id_ed25519 or env://DEPLOY_KEY")
	}
	var err error
	for _, s := range []struct {
		secret *dagger.Secret
		out    *[]byte
	}{{t.key, &cfg.PrivateKey}, {t.knownHosts, &cfg.KnownHosts}, {t.passphrase, &cfg.Passphrase}} {
		if s.secret == nil {
			continue
		}
		plain, perr := s.secret.Plaintext(ctx)
		if perr != nil {
			return nil, perr
		}
		*s.out = []byte(plain)
	}
	if len(cfg.Passphrase) > 0 {
		cfg.Passphrase = []byte(strings.TrimRight(string(cfg.Passphrase), "\r\n"))
	}
	if err = cfg.Validate(); err != nil {
		return nil, err
	}
	return sshconn.Dial(ctx, cfg)
}

// session connects to t, runs fn, and closes the connection.
func (t target) session(ctx context.Context, fn func(*sshconn.Client) (string, error)) (string, error) {
	client, err := t.dial(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = client.Close() }()
	return fn(client)
}

// Deploy ships an image to a docker host over SSH: a new release directory,
// docker compose up, a health gate through an SSH tunnel, and automatic
// rollback to the previous release when the gate fails.
// +cache="never"
func (g *Goship) Deploy(
	ctx context.Context,
	// SSH host of the docker server.
	host string,
	// SSH port.
	// +optional
	// +default=22
	port int,
	// Deploy user (in the docker group).
	// +optional
	// +default="deploy"
	user string,
	// Private key of the deploy user.
	key *dagger.Secret,
	// known_hosts content pinning the server's host key (required).
	knownHosts *dagger.Secret,
	// Passphrase of the private key.
	// +optional
	keyPassphrase *dagger.Secret,
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
	// Compose file; its service's image is pinned to the deployed one. Default: a generated one.
	// +optional
	compose *dagger.File,
	// Compose service to deploy and check.
	// +optional
	// +default="app"
	service string,
	// The app's .env file (secret; stored 0600 on the server).
	// +optional
	env *dagger.Secret,
	// Port mapping of the generated compose file, [ip:]hostPort:containerPort; default <port>:<port>.
	// +optional
	publish string,
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
	// App directory on the server; default /opt/<app>.
	// +optional
	appDir string,
	// Releases to keep.
	// +optional
	// +default=5
	keep int,
) (string, error) {
	strategy, err := deploy.ParseTransferName(transfer)
	if err != nil {
		return "", err
	}
	timeout, err := time.ParseDuration(healthTimeout)
	if err != nil {
		return "", fmt.Errorf("health-timeout %q: %w", healthTimeout, err)
	}
	app, err := g.appName(ctx)
	if err != nil {
		return "", err
	}
	spec := deploy.Spec{
		App: app, AppDir: appDir, Image: image, Service: service,
		Version: g.runContext().Version(), Commit: g.Sha, Who: g.who(),
		ContainerPort: g.Port, Publish: publish, Keep: keep,
		Health: deploy.Health{Path: healthPath, Port: healthPort, Timeout: timeout},
	}
	if compose != nil {
		data, err := compose.Contents(ctx)
		if err != nil {
			return "", err
		}
		spec.Compose = []byte(data)
	}
	if env != nil {
		data, err := env.Plaintext(ctx)
		if err != nil {
			return "", err
		}
		spec.Env = []byte(data)
	}
	switch strategy {
	case "registry":
		if image == "" {
			return "", fmt.Errorf("--image is required with --transfer=registry (use the reference publish returned)")
		}
		r := deploy.Registry{Host: registryHostOf(image), Username: registryUsername}
		if registryPassword != nil {
			if _, r.Password, err = trimmedSecret(ctx, "goship-deploy-registry-password", registryPassword); err != nil {
				return "", err
			}
		}
		spec.Transfer = r
	case "ssh":
		if spec.Image == "" {
			spec.Image = "goship.local/" + app + ":" + g.runContext().Version()
		}
		tarball, cleanup, err := g.exportTarball(ctx)
		if err != nil {
			return "", err
		}
		defer cleanup()
		spec.Transfer = deploy.SSH{Tarball: tarball}
	}
	t := target{host: host, port: port, user: user, key: key, passphrase: keyPassphrase, knownHosts: knownHosts}
	return t.session(ctx, func(client *sshconn.Client) (string, error) {
		res, err := deploy.Deploy(ctx, client, spec)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("deployed %s as release %s on %s in %s (previous: %s)", res.Image, res.Release, client.Target(), res.Took.Round(time.Millisecond), orNone(res.Previous)), nil
	})
}

// exportTarball writes the runtime image as a docker-loadable tarball into
// the module's own filesystem and opens it for streaming; the server tags
// the loaded image with the release's reference (see deploy.SSH).
func (g *Goship) exportTarball(ctx context.Context) (*os.File, func(), error) {
	img, err := g.Build(ctx)
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "goship-image-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	path := dir + "/image.tar"
	if _, err := img.AsTarball(dagger.ContainerAsTarballOpts{MediaTypes: dagger.ImageMediaTypesDockerMediaTypes}).Export(ctx, path); err != nil {
		cleanup()
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return f, func() { _ = f.Close(); cleanup() }, nil
}

// Rollback brings back the previous healthy release (or a named one) and
// gates it like a deploy.
// +cache="never"
func (g *Goship) Rollback(
	ctx context.Context,
	host string,
	// +optional
	// +default=22
	port int,
	// +optional
	// +default="deploy"
	user string,
	key *dagger.Secret,
	knownHosts *dagger.Secret,
	// +optional
	keyPassphrase *dagger.Secret,
	// Release to return to (see releases); default: the previous healthy one.
	// +optional
	to string,
	// +optional
	appDir string,
	// +optional
	// +default="app"
	service string,
	// +optional
	// +default="60s"
	healthTimeout string,
) (string, error) {
	timeout, err := time.ParseDuration(healthTimeout)
	if err != nil {
		return "", fmt.Errorf("health-timeout %q: %w", healthTimeout, err)
	}
	app, err := g.appName(ctx)
	if err != nil {
		return "", err
	}
	t := target{host: host, port: port, user: user, key: key, passphrase: keyPassphrase, knownHosts: knownHosts}
	return t.session(ctx, func(client *sshconn.Client) (string, error) {
		res, err := deploy.Rollback(ctx, client, deploy.RollbackSpec{
			App: app, AppDir: appDir, Service: service, To: to, Who: g.who(),
			Health: deploy.Health{Timeout: timeout},
		})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("rolled back %s to %s (%s); was %s", app, res.Release, res.Image, orNone(res.Previous)), nil
	})
}

// Releases lists the app's releases on the server, newest first.
// +cache="never"
func (g *Goship) Releases(
	ctx context.Context,
	host string,
	// +optional
	// +default=22
	port int,
	// +optional
	// +default="deploy"
	user string,
	key *dagger.Secret,
	knownHosts *dagger.Secret,
	// +optional
	keyPassphrase *dagger.Secret,
	// +optional
	appDir string,
) (string, error) {
	app, err := g.appName(ctx)
	if err != nil {
		return "", err
	}
	t := target{host: host, port: port, user: user, key: key, passphrase: keyPassphrase, knownHosts: knownHosts}
	return t.session(ctx, func(client *sshconn.Client) (string, error) {
		recs, err := deploy.Releases(ctx, client, app, appDir)
		if err != nil {
			return "", err
		}
		return deploy.FormatReleases(recs), nil
	})
}

// Status says which release is current and whether its container runs
// that release's image and is healthy.
// +cache="never"
func (g *Goship) Status(
	ctx context.Context,
	host string,
	// +optional
	// +default=22
	port int,
	// +optional
	// +default="deploy"
	user string,
	key *dagger.Secret,
	knownHosts *dagger.Secret,
	// +optional
	keyPassphrase *dagger.Secret,
	// +optional
	appDir string,
	// +optional
	// +default="app"
	service string,
) (string, error) {
	app, err := g.appName(ctx)
	if err != nil {
		return "", err
	}
	t := target{host: host, port: port, user: user, key: key, passphrase: keyPassphrase, knownHosts: knownHosts}
	return t.session(ctx, func(client *sshconn.Client) (string, error) {
		st, err := deploy.Status(ctx, client, app, appDir, service)
		if err != nil {
			return "", err
		}
		return deploy.FormatStatus(st), nil
	})
}

// Unlock breaks the deploy lock held by a hung deploy (it ends the process
// holding it) and says whose it was. A dropped connection never needs
// this: the lock dies with its SSH session.
// +cache="never"
func (g *Goship) Unlock(
	ctx context.Context,
	host string,
	// +optional
	// +default=22
	port int,
	// +optional
	// +default="deploy"
	user string,
	key *dagger.Secret,
	knownHosts *dagger.Secret,
	// +optional
	keyPassphrase *dagger.Secret,
	// +optional
	appDir string,
) (string, error) {
	app, err := g.appName(ctx)
	if err != nil {
		return "", err
	}
	t := target{host: host, port: port, user: user, key: key, passphrase: keyPassphrase, knownHosts: knownHosts}
	return t.session(ctx, func(client *sshconn.Client) (string, error) {
		owner, err := deploy.BreakLock(ctx, client, app, appDir)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("broke the lock of %s held by %s since %s", app, owner.Who, owner.Since.Format(time.RFC3339)), nil
	})
}

// who names the deployer in release.json and deploys.log.
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

func registryHostOf(image string) string {
	host, _, _ := strings.Cut(image, "/")
	return host
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
