package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Server is a docker host (or a fleet of them) that goship deploys to
// over SSH, with its connection settings checked once: chain deploy,
// rollback, releases, status, unlock or release on it.
type Server struct {
	// The goship run this server belongs to.
	// +private
	Goship *Goship
	// SSH hosts, [user@]host[:port], in rollout order.
	Host []string
	// SSH port.
	Port int
	// Deploy user (in the docker group).
	User string
	// Private key of the deploy user.
	// +private
	Key *dagger.Secret
	// known_hosts content pinning the server's host key.
	// +private
	KnownHosts *dagger.Secret
	// Passphrase of the private key.
	// +private
	KeyPassphrase *dagger.Secret
	// App directory on the server; empty: /opt/<app>.
	AppDir string
	// Compose service to deploy and check.
	Service string
	// Webhook URLs told about every deploy and rollback.
	// +private
	Notify []*dagger.Secret
	// Jump hosts (bastions), [user@]host[:port], first hop first.
	Jump []string
	// Public key every deployed or rolled-back image must be signed by.
	// +private
	VerifyKey *dagger.File
	// Certificate the blue-green proxy serves HTTPS with.
	// +private
	TLSCert *dagger.Secret
	// Private key of the certificate.
	// +private
	TLSKey *dagger.Secret
	// Plain-HTTP port that redirects to HTTPS (0: none).
	TLSRedirectFrom int
}

// Server is the docker host to deploy to over SSH, or a fleet of them
// (repeat --host, or give --hosts-file). Its settings are checked here,
// before anything connects: every host, port and user, the private key
// (and its passphrase), that known_hosts pins every host, and the
// webhooks.
func (g *Goship) Server(
	ctx context.Context,
	// SSH host(s) of the docker server(s), [user@]host[:port]; repeat for a fleet, in rollout order.
	// +optional
	host []string,
	// A file of hosts, one [user@]host[:port] per line (# comments), after those of --host.
	// +optional
	hostsFile *dagger.File,
	// SSH port.
	// +optional
	// +default=22
	port int,
	// Deploy user (in the docker group).
	// +optional
	// +default="deploy"
	user string,
	// Private key of the deploy user, e.g. file://$HOME/.ssh/deploy_key or env://DEPLOY_KEY.
	key *dagger.Secret,
	// known_hosts content pinning the server's host key (ssh-keyscan, then verify the fingerprint).
	knownHosts *dagger.Secret,
	// Passphrase of the private key.
	// +optional
	keyPassphrase *dagger.Secret,
	// App directory on the server; default /opt/<app>.
	// +optional
	appDir string,
	// Compose service to deploy and check.
	// +optional
	// +default="app"
	service string,
	// Webhook URLs (secrets: they carry tokens) told about every deploy and rollback: DingTalk (add &secret=SEC… for signed mode), WeCom, Slack, or any URL for a JSON post.
	// +optional
	notify []*dagger.Secret,
	// Jump host (bastion) to reach the servers through, [user@]host[:port]; repeat for a chain, first hop first. Each hop is pinned in --known-hosts and logs in with --key and --user unless it names its own user.
	// +optional
	jump []string,
	// Public key (PEM, e.g. .goship/cosign.pub): deploy, rollback and release refuse an image not signed by its private half with a passed gate, before any host changes.
	// +optional
	verifyKey *dagger.File,
	// blue-green: certificate (PEM: the server's, then its chain) the proxy serves HTTPS with on the app's port (e.g. --publish 443:8080), e.g. file://cert.pem. Deploys install it; one without it keeps the app's.
	// +optional
	tlsCert *dagger.Secret,
	// blue-green: private key of --tls-cert (PEM, unencrypted); sent over stdin only, stored 0600 in the proxy's directory.
	// +optional
	tlsKey *dagger.Secret,
	// blue-green with --tls-cert: plain-HTTP port whose requests redirect to HTTPS; 0 for none.
	// +optional
	// +default=80
	tlsRedirectFrom int,
) (*Server, error) {
	addrs, err := fleet.ParseHostList(host)
	if err != nil {
		return nil, err
	}
	if hostsFile != nil {
		data, err := hostsFile.Contents(ctx)
		if err != nil {
			return nil, err
		}
		fromFile, err := fleet.ParseHostsFile([]byte(data))
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, fromFile...)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no server: give --host (repeat it for a fleet) or --hosts-file")
	}
	s := &Server{Goship: g, Port: port, User: user, Key: key, KnownHosts: knownHosts,
		KeyPassphrase: keyPassphrase, AppDir: appDir, Service: service, Notify: notify, Jump: jump, VerifyKey: verifyKey,
		TLSCert: tlsCert, TLSKey: tlsKey, TLSRedirectFrom: tlsRedirectFrom}
	for _, a := range addrs {
		s.Host = append(s.Host, a.String())
	}
	cfgs, err := s.configs(ctx)
	if err != nil {
		return nil, err
	}
	for _, cfg := range cfgs {
		if err := sshconn.Check(cfg); err != nil {
			return nil, err
		}
	}
	if _, err := notifyTargets(ctx, s.Notify); err != nil {
		return nil, err
	}
	if _, err := s.proxyTLS(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// proxyTLS is the certificate deploys install at the blue-green proxy,
// checked (pair, expiry), or nil when none is given.
func (s *Server) proxyTLS(ctx context.Context) (*proxy.TLS, error) {
	if s.TLSCert == nil && s.TLSKey == nil {
		return nil, nil
	}
	cert, err := secretBytes(ctx, s.TLSCert)
	if err != nil {
		return nil, err
	}
	key, err := secretBytes(ctx, s.TLSKey)
	if err != nil {
		return nil, err
	}
	return proxy.ParseTLS(cert, key, s.TLSRedirectFrom, time.Now())
}

// configs are the SSH configurations of the hosts, secrets read.
func (s *Server) configs(ctx context.Context) ([]sshconn.Config, error) {
	base := sshconn.Config{Port: s.Port, User: s.User}
	if s.KnownHosts == nil {
		return nil, fmt.Errorf("--known-hosts is required: the server's host key must be pinned (ssh-keyscan, then verify the fingerprint)")
	}
	if s.Key == nil {
		return nil, fmt.Errorf("--key is required: the deploy user's private key, e.g. --key=file://$HOME/.ssh/id_ed25519 or env://DEPLOY_KEY")
	}
	for _, sec := range []struct {
		secret *dagger.Secret
		out    *[]byte
	}{{s.Key, &base.PrivateKey}, {s.KnownHosts, &base.KnownHosts}, {s.KeyPassphrase, &base.Passphrase}} {
		if sec.secret == nil {
			continue
		}
		plain, err := sec.secret.Plaintext(ctx)
		if err != nil {
			return nil, err
		}
		*sec.out = []byte(plain)
	}
	base.Passphrase = []byte(strings.TrimRight(string(base.Passphrase), "\r\n"))
	jumps, err := sshconn.ParseJumps(s.Jump)
	if err != nil {
		return nil, err
	}
	base.Jump = jumps
	addrs, err := fleet.ParseHostList(s.Host)
	if err != nil {
		return nil, err
	}
	return fleet.Configs(addrs, base)
}

// Releases lists the app's releases on the server, newest first; on a
// fleet, per host, with the drift between hosts.
// +cache="never"
func (s *Server) Releases(ctx context.Context) (string, error) {
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	return fleet.FormatHostReleases(fleet.Releases(ctx, cfgs, app, s.AppDir))
}

// Status says which release is current, with which strategy, and whether
// its container runs that release's image and is healthy; on a fleet, per
// host, with the drift between hosts.
// +cache="never"
func (s *Server) Status(ctx context.Context) (string, error) {
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	return fleet.FormatHostStatus(fleet.Status(ctx, cfgs, app, s.AppDir, s.Service))
}

// Unlock breaks the deploy lock held by a hung deploy (it ends that
// deploy's lock holder, after checking it holds the lock) and says whose
// it was. A dropped connection never needs this: the lock dies with its
// SSH session. One host only.
// +cache="never"
func (s *Server) Unlock(ctx context.Context) (string, error) {
	app, cfgs, err := s.appAndConfigs(ctx)
	if err != nil {
		return "", err
	}
	owner, err := fleet.Unlock(ctx, cfgs, app, s.AppDir)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("broke the lock of %s held by %s since %s", app, owner.Who, owner.Since.Format(time.RFC3339)), nil
}

// appAndConfigs are the app name and the hosts' SSH configurations.
func (s *Server) appAndConfigs(ctx context.Context) (string, []sshconn.Config, error) {
	app, err := s.Goship.appName(ctx)
	if err != nil {
		return "", nil, err
	}
	cfgs, err := s.configs(ctx)
	return app, cfgs, err
}
