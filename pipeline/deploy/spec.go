// Package deploy ships a release to a docker host over SSH, the way
// Capistrano and Kamal do: each release in its own directory, one deploy
// at a time, a health gate through an SSH tunnel, automatic rollback to the
// previous release when the gate fails, a deploy log and pruning. A failed
// deploy leaves the previous release serving.
//
// Server layout under AppDir (default /opt/<app>):
//
//	releases/<UTC yyyymmddHHMMSS>-<tag>/compose.yaml, .env (0600), release.json
//	current -> releases/<…>   the release that last passed its health gate
//	shared/                   what relative paths in the user's compose file
//	                          (bind mounts, env_file) point at; outlives releases
//	deploys.log               one JSON line per attempt and outcome
//	.lock, .lock.owner        the deploy lock (flock, held by the SSH session)
//	                          and its holder, written and cleared under the lock
package deploy

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Spec is one deploy.
type Spec struct {
	App    string // [a-z0-9][a-z0-9_-]*: compose project and app dir name
	AppDir string // default /opt/<App>
	Image  string // registry: repo@sha256:… (or a tag); ssh: the tag inside the tarball
	// Version and Commit are recorded in release.json.
	Version, Commit string
	// Who is recorded as the deployer (e.g. "ci@github" or "alice@laptop").
	Who string
	// Compose is the user's compose file; empty means a generated one.
	// The image of Service is replaced by Image, so each release's
	// compose.yaml pins exactly what it runs.
	Compose []byte
	// Service is the compose service to deploy and check (default "app").
	Service string
	// AllowOutsidePaths lets the compose file mount host paths outside
	// <AppDir>/shared (absolute, ~ and ../ paths, and paths with
	// variables). By default they are refused: relative paths resolve
	// against the shared dir, which outlives releases.
	AllowOutsidePaths bool
	// Env is the app's .env content. Secret: it only travels on stdin.
	Env []byte
	// ContainerPort is the port the app listens on in the container
	// (default 8080). Publish is the generated compose's port mapping
	// (default "<ContainerPort>:<ContainerPort>").
	ContainerPort int
	Publish       string
	Health        Health
	Transfer      Transfer
	// Keep is how many releases to keep (default 5, minimum 2).
	Keep int
	// MinFreeMB is the free disk the app dir needs (default 512).
	MinFreeMB int
	// Strategy is how the release replaces the running one (default
	// recreate); Proxy configures blue-green's shared reverse proxy.
	Strategy Strategy
	Proxy    Proxy
}

// Health configures the gate.
type Health struct {
	// Path is the HTTP path checked through the SSH tunnel (default
	// /healthz); "-" disables the HTTP check (container health only).
	Path string
	// Port is the server port the service is published on (default: the
	// host port of Publish).
	Port int
	// Host is the server address the check connects to: the IP Publish
	// binds, or 127.0.0.1 when it binds every address.
	Host string
	// Timeout is how long the new release has to become healthy (default 60s).
	Timeout time.Duration
	// Interval between probes (default 1s).
	Interval time.Duration
	// Settle is how long the release must stay healthy after its first
	// passing probe (default 5s; negative: no settle window). Every probe
	// in the window must pass, and the container must neither restart nor
	// turn unhealthy, so a release that answers once and then degrades
	// never goes live. It adds to Timeout.
	Settle time.Duration
}

// DefaultSettle is the settle window when Health.Settle is zero.
const DefaultSettle = 5 * time.Second

// Transfer gets the image onto the server.
type Transfer interface {
	// Name is "registry" or "ssh".
	Name() string
	// deliver makes the image available to the server's docker and
	// returns the reference compose should run.
	deliver(ctx context.Context, s *server, image string) (string, error)
}

// Registry pulls the image on the server after a `docker login` whose
// password travels on stdin. The login is removed after the pull.
type Registry struct {
	Host, Username, Password string
}

// Name implements Transfer.
func (Registry) Name() string { return "registry" }

// SSH streams an image tarball (docker save format) over the SSH session
// into `docker load`, for servers without registry access. Nothing is
// written to a temp file on either side.
type SSH struct {
	Tarball io.Reader
}

// Name implements Transfer.
func (SSH) Name() string { return "ssh" }

// TransferNames are the transfer strategies.
func TransferNames() []string { return []string{"registry", "ssh"} }

var (
	appRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	serviceRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	publishRE = regexp.MustCompile(`^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})$`)
	dirRE     = regexp.MustCompile(`^/[A-Za-z0-9_./-]*$`)
)

// ValidateApp checks an app name.
func ValidateApp(app string) error {
	if !appRE.MatchString(app) {
		return fmt.Errorf("app name %q: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit", app)
	}
	return nil
}

// withDefaults fills defaults and validates; nothing is sent before this
// passes.
func (s Spec) withDefaults() (Spec, error) {
	var err error
	if s.AppDir, s.Service, err = location(s.App, s.AppDir, s.Service); err != nil {
		return s, err
	}
	if s.Transfer == nil {
		return s, fmt.Errorf("no transfer strategy: want one of %s", strings.Join(TransferNames(), ", "))
	}
	if _, err := name.ParseReference(s.Image, name.StrictValidation); err != nil {
		return s, fmt.Errorf("image %q: %w", s.Image, err)
	}
	if r, ok := s.Transfer.(Registry); ok {
		ref, _ := name.ParseReference(s.Image, name.StrictValidation)
		if r.Host != "" && ref.Context().RegistryStr() != r.Host {
			return s, fmt.Errorf("image %q is not on registry %s, which the credentials are for", s.Image, r.Host)
		}
	}
	if s.ContainerPort == 0 {
		s.ContainerPort = 8080
	}
	if s.Publish == "" {
		s.Publish = fmt.Sprintf("%d:%d", s.ContainerPort, s.ContainerPort)
	}
	m := publishRE.FindStringSubmatch(s.Publish)
	if m == nil {
		return s, fmt.Errorf("publish %q: want [ip:]hostPort:containerPort", s.Publish)
	}
	if s.Health.Port == 0 {
		_, _ = fmt.Sscan(m[2], &s.Health.Port)
	}
	if s.Health.Host == "" && m[1] != "" && m[1] != "0.0.0.0" {
		s.Health.Host = m[1]
	}
	if s.Health, err = s.Health.withDefaults(); err != nil {
		return s, err
	}
	if s.Keep == 0 {
		s.Keep = 5
	}
	if s.Keep < 2 {
		return s, fmt.Errorf("keep %d: at least 2 releases (current and previous) are always kept", s.Keep)
	}
	if s.MinFreeMB == 0 {
		s.MinFreeMB = 512
	}
	if s.Who == "" {
		s.Who = "goship"
	}
	if len(s.Compose) > 0 { // its paths are checked before anything is sent
		if _, err := Compose(s, s.Image, len(s.Env) > 0); err != nil {
			return s, err
		}
	}
	return s.withStrategy()
}

// location validates where an app lives on the server and fills the
// defaults: app dir /opt/<app>, service "app".
func location(app, appDir, service string) (string, string, error) {
	if err := ValidateApp(app); err != nil {
		return "", "", err
	}
	if appDir == "" {
		appDir = "/opt/" + app
	}
	if !dirRE.MatchString(appDir) || strings.Contains(appDir, "..") || appDir == "/" {
		return "", "", fmt.Errorf("app dir %q: want an absolute path without spaces or '..'", appDir)
	}
	if service == "" {
		service = "app"
	}
	if !serviceRE.MatchString(service) {
		return "", "", fmt.Errorf("compose service %q is not a valid service name", service)
	}
	return strings.TrimRight(appDir, "/"), service, nil
}

// withDefaults fills the gate's defaults (the port comes from the spec).
func (h Health) withDefaults() (Health, error) {
	if h.Path == "" {
		h.Path = "/healthz"
	}
	if h.Path != "-" && !strings.HasPrefix(h.Path, "/") {
		return h, fmt.Errorf("health path %q must start with /", h.Path)
	}
	if h.Timeout == 0 {
		h.Timeout = 60 * time.Second
	}
	if h.Interval == 0 {
		h.Interval = time.Second
	}
	if h.Settle == 0 {
		h.Settle = DefaultSettle
	}
	if h.Host == "" {
		h.Host = "127.0.0.1"
	}
	return h, nil
}

// ParseTransferName validates a strategy name from user input.
func ParseTransferName(s string) (string, error) {
	for _, n := range TransferNames() {
		if s == n {
			return s, nil
		}
	}
	return "", fmt.Errorf("unknown transfer strategy %q: want one of %s", s, strings.Join(TransferNames(), ", "))
}
