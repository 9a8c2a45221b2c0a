package main

import (
	"context"
	"fmt"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// Server is a docker host (or a fleet of them) that goship deploys to
// over SSH: chain deployment, rollback, releases, status, logs, exec,
// details, maintenance or unlock on it.
type Server struct {
	// The goship run this server belongs to.
	// +private
	Goship *Goship
	// SSH hosts, [user@]host[:port], in rollout order.
	Host []string
	// A file of more hosts, one per line.
	// +private
	HostsFile *dagger.File
	// SSH port of hosts that name none.
	Port int
	// Deploy user of hosts that name none.
	User string
	// Private key of the deploy user.
	// +private
	Key *dagger.Secret
	// known_hosts content pinning the servers' host keys.
	// +private
	KnownHosts *dagger.Secret
	// Passphrase of the private key.
	// +private
	KeyPassphrase *dagger.Secret
	// Jump hosts (bastions), [user@]host[:port], first hop first.
	Jump []string
	// App directory on the servers; empty: /opt/<app>.
	AppDir string
	// Compose service to deploy and check; empty: app.
	Service string
}

// Server is the docker host to deploy to over SSH, or a fleet of them
// (repeat --host, or give --hosts-file). The key and known_hosts are
// required here; the runner checks every host, the key and its pinning
// before anything connects.
func (g *Goship) Server(
	// SSH host(s) of the docker server(s), [user@]host[:port]; repeat for a fleet, in rollout order.
	// +optional
	host []string,
	// A file of hosts, one [user@]host[:port] per line (# comments), after those of --host.
	// +optional
	hostsFile *dagger.File,
	// SSH port of hosts that name none; default 22.
	// +optional
	port int,
	// Deploy user (in the docker group) of hosts that name none; default deploy.
	// +optional
	user string,
	// Private key of the deploy user, e.g. file://$HOME/.ssh/deploy_key or env://DEPLOY_KEY.
	key *dagger.Secret,
	// known_hosts content pinning the servers' host keys (ssh-keyscan, then verify the fingerprint).
	knownHosts *dagger.Secret,
	// Passphrase of the private key.
	// +optional
	keyPassphrase *dagger.Secret,
	// Jump host (bastion) to reach the servers through, [user@]host[:port]; repeat for a chain, first hop first. Each hop is pinned in --known-hosts and logs in with --key and --user unless it names its own user.
	// +optional
	jump []string,
	// App directory on the servers; default /opt/<app>.
	// +optional
	appDir string,
	// Compose service to deploy and check; default app.
	// +optional
	service string,
) (*Server, error) {
	if len(host) == 0 && hostsFile == nil {
		return nil, fmt.Errorf("no server: give --host (repeat it for a fleet) or --hosts-file")
	}
	if key == nil || knownHosts == nil {
		return nil, fmt.Errorf("--key and --known-hosts are required: the deploy user's private key, and known_hosts pinning every host (ssh-keyscan, then verify the fingerprint)")
	}
	return &Server{Goship: g, Host: host, HostsFile: hostsFile, Port: port, User: user, Key: key, KnownHosts: knownHosts,
		KeyPassphrase: keyPassphrase, Jump: jump, AppDir: appDir, Service: service}, nil
}

// jobTarget is how the runner reaches the servers.
func (s *Server) jobTarget(m *mounts) *job.Target {
	return &job.Target{Hosts: &job.Hosts{
		Addrs: s.Host, File: m.file("hosts", s.HostsFile), Port: s.Port, User: s.User, Jump: s.Jump, AppDir: s.AppDir, Service: s.Service,
		Key: m.secret("ssh-key", s.Key), KnownHosts: m.secret("known-hosts", s.KnownHosts),
		Passphrase: m.secret("ssh-key-passphrase", s.KeyPassphrase),
	}}
}

func (s *Server) goship() *Goship { return s.Goship }

// Deployment starts a release of the app to the servers: chain
// with-blue-green, with-proxy, with-health, with-rollout, with-timeouts,
// with-migration or with-unverified as needed, then run (deploy this
// image) or release (ci, publish, then deploy).
func (s *Server) Deployment(
	// Image to run, ideally repo@sha256:… from publish. Empty with --transfer=ssh: the image built here.
	// +optional
	image string,
	// How the servers get the image: registry (pull) or ssh (docker load over the connection); default registry.
	// +optional
	transfer string,
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
	// Releases to keep; default 5.
	// +optional
	keep int,
	// Registry username for the servers' pull (and for reading signatures).
	// +optional
	registryUsername string,
	// Registry password for the servers' pull (sent on stdin, removed after the pull).
	// +optional
	registryPassword *dagger.Secret,
) *Deployment {
	d := newDeployment(s, job.Deploy{Image: image, Transfer: transfer, Keep: keep,
		Compose: &job.Compose{AllowOutsidePaths: allowOutsidePaths, Publish: publish}})
	d.ComposeFile, d.Env, d.RegistryUsername, d.RegistryPassword = compose, env, registryUsername, registryPassword
	return d
}

// Rollback brings back the previous healthy release (or a named one),
// gated the way that release was gated when it was deployed. On a fleet
// every host goes back to its own previous healthy release, one host at a
// time (release names carry each host's deploy time, so --to names one
// host's release). With a policy, the target image is verified first.
// +cache="never"
func (s *Server) Rollback(
	ctx context.Context,
	// Release to return to (see releases); default: the previous healthy one. One host only.
	// +optional
	to string,
	// How long the release has to become healthy; default 60s.
	// +optional
	healthTimeout string,
	// How long it must then stay healthy; default 5s.
	// +optional
	healthSettle string,
	// Wait up to this long (e.g. 2m) for a deploy in progress to let go of the app's lock, logging who holds it, instead of failing at once.
	// +optional
	lockWait string,
	// Registry username to read the target image's signature with.
	// +optional
	registryUsername string,
	// Registry password to read the target image's signature with.
	// +optional
	registryPassword *dagger.Secret,
	// Roll back without verifying the image on a server that remembers a verified release: the reason, logged in deploys.log and the notification.
	// +optional
	unverified string,
) (string, error) {
	return rollbackOn(ctx, s, rollbackRequest{to, healthTimeout, healthSettle, lockWait, registryUsername, registryPassword, unverified})
}

// Releases lists the app's releases on the servers, newest first; on a
// fleet, per host, with the drift between hosts.
// +cache="never"
func (s *Server) Releases(ctx context.Context) (string, error) {
	return onTarget(ctx, s, job.VerbReleases, job.Job{})
}

// Status says which release is current, with which strategy, and whether
// its container runs that release's image and is healthy; on a fleet, per
// host, with the drift between hosts.
// +cache="never"
func (s *Server) Status(ctx context.Context) (string, error) {
	return onTarget(ctx, s, job.VerbStatus, job.Job{})
}

// Unlock breaks the deploy lock held by a hung deploy (it ends that
// deploy's lock holder, after checking it holds the lock) and says whose
// it was. A dropped connection never needs this: the lock dies with its
// SSH session. One host only.
// +cache="never"
func (s *Server) Unlock(ctx context.Context) (string, error) {
	return onTarget(ctx, s, job.VerbUnlock, job.Job{})
}

// WithProxy configures blue-green's shared Caddy proxy on the servers
// (chain with-blue-green too). Servers only.
func (d *Deployment) WithProxy(
	// Route only this host name to the app on its port (several apps can share a port).
	// +optional
	host string,
	// The Caddy image of the shared proxy; default pinned by digest (the mirror applies).
	// +optional
	image string,
	// The shared proxy's directory on the server (the deploy user must own it); default /opt/goship-proxy.
	// +optional
	dir string,
	// How long the proxy switch may take before it is ended; default 2m.
	// +optional
	switchTimeout string,
	// Certificate (PEM: the server's, then its chain) the proxy serves HTTPS with on the app's port (e.g. --publish 443:8080), e.g. file://cert.pem. Deploys install it; one without it keeps the app's.
	// +optional
	tlsCert *dagger.Secret,
	// Private key of --tls-cert (PEM, unencrypted); sent over stdin only, stored 0600 in the proxy's directory.
	// +optional
	tlsKey *dagger.Secret,
	// With --tls-cert: plain-HTTP port whose requests redirect to HTTPS; default 80, -1 for none.
	// +optional
	tlsRedirectFrom int,
) *Deployment {
	d.TLSCert, d.TLSKey = tlsCert, tlsKey
	return d.set(func(s *job.Deploy) error {
		p := s.ProxySettings()
		p.Host, p.Image, p.Dir, p.TLSRedirectFrom = host, image, dir, tlsRedirectFrom
		return durations(durationFlag{"switch-timeout", switchTimeout, &p.SwitchTimeout})
	})
}

// WithRollout sets how a fleet moves: how many hosts at once, and a
// canary first. Servers only.
func (d *Deployment) WithRollout(
	// How many hosts move at once; default 1.
	// +optional
	parallel int,
	// Move the first host alone, let it serve this long (e.g. 2m), gate it again, then the rest; empty: no canary.
	// +optional
	canary string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		c := s.ComposeSettings()
		c.Parallel = parallel
		return durations(durationFlag{"canary", canary, &c.Canary})
	})
}

// WithMigration runs a migration once before the new release takes
// traffic (on a fleet, on the first host): a one-off container of the new
// release's service, with its image, .env and network; the image's
// entrypoint stays, so "migrate up" runs "<entrypoint> migrate up". If it
// fails, the previous release keeps serving. Keep secrets in the .env,
// not here. Servers only.
func (d *Deployment) WithMigration(
	// The command, e.g. "migrate up".
	command string,
	// How long it may run before it is ended; default 10m.
	// +optional
	timeout string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		c := s.ComposeSettings()
		c.Migrate = command
		return durations(durationFlag{"timeout", timeout, &c.MigrateTimeout})
	})
}
