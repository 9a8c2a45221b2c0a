// Package compose is the compose/SSH deploy target: it ships a release to
// one docker host over SSH, the way Capistrano and Kamal do: each release
// in its own directory, one deploy at a time, a health gate, automatic
// rollback when the gate fails.
//
// A strategy is chosen once, from the spec and the app's record
// (dispatch.go), and the verbs delegate to it: recreate (recreate.go),
// blue-green behind the shared proxy (bluegreen.go, colors.go), and
// leaving blue-green for recreate (leaveproxy.go). Each strategy owns its
// part of the records it writes, and is the only code that reads it:
// status, releases, maintenance and the day-2 verbs (ServingOf) ask it.
// A new strategy is its own file and one entry in the strategies table.
//
// Every deploy and rollback returns a Result whose Outcome
// (pipeline/outcome) says what serves afterwards, with its error too. A
// host that took a verified release refuses unverified ones
// (policy.go). The host's mechanics live in pipeline/host, the proxy in
// pipeline/proxy; fleets in pipeline/fleet.
package compose

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/release"
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
	Health        host.Health
	Transfer      host.Transfer
	// Keep is how many releases to keep (default 5, minimum 2).
	Keep int
	// MinFreeMB is the free disk the app dir needs (default 512).
	MinFreeMB int
	// Strategy is how the release replaces the running one (default
	// recreate); Proxy configures blue-green's shared reverse proxy.
	Strategy Strategy
	Proxy    Proxy
	// Timeouts bound the long remote steps: pull or load, compose up, the
	// proxy switch, the migration (see host.Timeouts; zero: defaults).
	Timeouts host.Timeouts
	// LockWait is how long to wait for the deploy lock another deploy of
	// the app holds (default 0: fail at once, naming that deploy).
	// LockWaiting, when set, is told who holds it while this one waits.
	LockWait    time.Duration
	LockWaiting func(*host.LockedError)
	// Migrate, when set, is run once before the release takes traffic: a
	// one-off container of the new release's service (its image, .env and
	// network; the image's entrypoint stays, so "migrate up" runs
	// "<entrypoint> migrate up"), under the deploy lock, within
	// Timeouts.Migrate. A failing migration stops the deploy with the
	// previous release serving. See migrate.go.
	Migrate string
	// Verified, when set, says the caller verified every image the
	// release runs (Images) against that signing policy; each must then
	// be pinned by digest. Once a verified release is live on a host, the
	// app there holds the policy, and a deploy without Verified is
	// refused (*PolicyError) unless Unverified gives the reason it runs
	// anyway, which deploys.log records. See policy.go.
	Verified   *PolicyMark
	Unverified string
}

// DefaultKeep is how many releases a host keeps when Spec.Keep is zero.
const DefaultKeep = 5

var publishRE = regexp.MustCompile(`^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})$`)

// withDefaults fills defaults and validates; nothing is sent before this
// passes.
func (s Spec) withDefaults() (Spec, error) {
	var err error
	if s.AppDir, s.Service, err = host.Locate(s.App, s.AppDir, s.Service); err != nil {
		return s, err
	}
	if s.Transfer, err = s.transfer(); err != nil {
		return s, err
	}
	if s.ContainerPort == 0 {
		s.ContainerPort = project.DefaultPort
	}
	if s.Publish == "" {
		s.Publish = fmt.Sprintf("%d:%d", s.ContainerPort, s.ContainerPort)
	}
	if s.ContainerPort < 1 || s.ContainerPort > 65535 {
		return s, fmt.Errorf("container port %d: want 1-65535", s.ContainerPort)
	}
	bind, hostPort, err := parsePublish(s.Publish)
	if err != nil {
		return s, err
	}
	if s.Health.Port == 0 {
		s.Health.Port = hostPort
	}
	if s.Health.Port < 1 || s.Health.Port > 65535 {
		return s, fmt.Errorf("health port %d: want 1-65535", s.Health.Port)
	}
	if s.Health.Host == "" && bind != "" {
		s.Health.Host = bind
	}
	if s.Health, err = s.Health.WithDefaults(); err != nil {
		return s, err
	}
	if s.Health.Timeout < 0 {
		return s, fmt.Errorf("health timeout %s: must not be negative", s.Health.Timeout)
	}
	if s.Keep == 0 {
		s.Keep = DefaultKeep
	}
	if s.Keep < 2 {
		return s, fmt.Errorf("keep %d: at least 2 releases (current and previous) are always kept", s.Keep)
	}
	if s.MinFreeMB == 0 {
		s.MinFreeMB = 512
	}
	if s.MinFreeMB < 0 {
		return s, fmt.Errorf("min free disk %d MB: must not be negative", s.MinFreeMB)
	}
	if s.Who == "" {
		s.Who = "goship"
	}
	if len(s.Compose) > 0 { // its paths are checked before anything is sent
		if _, err := Compose(s, s.Image, len(s.Env) > 0); err != nil {
			return s, err
		}
	}
	if s.Timeouts, err = s.Timeouts.WithDefaults(); err != nil {
		return s, err
	}
	if s.Migrate != "" {
		if _, err := migrateArgv(s.Migrate); err != nil {
			return s, err
		}
	}
	if err := host.CheckLockWait(s.LockWait); err != nil {
		return s, err
	}
	if err := s.checkPolicy(); err != nil {
		return s, err
	}
	return s.withStrategy()
}

// transfer checks the transfer and the image it brings, and fills the
// defaults: the registry's host is the image's, and an ssh transfer's
// image, when not given, is DefaultSSHImage.
func (s *Spec) transfer() (host.Transfer, error) {
	switch t := s.Transfer.(type) {
	case host.Registry:
		if s.Image == "" {
			return t, fmt.Errorf("--image is required with --transfer=registry (use the reference publish returned)")
		}
		if (t.Username == "") != (t.Password == "") {
			return t, fmt.Errorf("--registry-username and --registry-password go together: give both for a private registry, neither for a public one")
		}
		ref, err := name.ParseReference(s.Image, name.StrictValidation)
		if err != nil {
			return t, fmt.Errorf("image %q: %w", s.Image, err)
		}
		if t.Host == "" {
			t.Host = registryOf(s.Image)
		}
		if ref.Context().RegistryStr() != registryHost(t.Host) {
			return t, fmt.Errorf("image %q is not on registry %s, which the credentials are for", s.Image, t.Host)
		}
		return t, nil
	case host.SSH:
		if s.Image == "" {
			s.Image = DefaultSSHImage(s.App, s.Version)
		}
		if _, err := name.ParseReference(s.Image, name.StrictValidation); err != nil {
			return t, fmt.Errorf("image %q: %w", s.Image, err)
		}
		return t, t.Check()
	case nil:
		return nil, fmt.Errorf("no transfer strategy: want one of %s", strings.Join(host.TransferNames(), ", "))
	}
	return s.Transfer, nil
}

// DefaultSSHImage is the reference an image sent over SSH is tagged with
// on the server when the deploy names none: its version, or "unversioned".
func DefaultSSHImage(app, version string) string {
	tag := release.TagSafe(version)
	if tag == "" {
		tag = "unversioned"
	}
	return "goship.local/" + app + ":" + tag
}

// registryOf is the registry host an image reference names: its first
// path segment when that is a host (has a dot or a port, or is
// localhost); Docker Hub otherwise.
func registryOf(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// registryHost is h as image references name it (docker.io is
// index.docker.io there).
func registryHost(h string) string {
	if r, err := name.NewRegistry(h); err == nil {
		return r.RegistryStr()
	}
	return h
}

// parsePublish reads [ip:]hostPort:containerPort, each port 1-65535 and
// the address a dotted IPv4 one; bind is "" for every address.
func parsePublish(p string) (bind string, hostPort int, err error) {
	m := publishRE.FindStringSubmatch(p)
	if m == nil {
		return "", 0, fmt.Errorf("publish %q: want [ip:]hostPort:containerPort", p)
	}
	if m[1] != "" && net.ParseIP(m[1]) == nil {
		return "", 0, fmt.Errorf("publish %q: %s is not an IPv4 address", p, m[1])
	}
	for _, port := range m[2:] {
		if n, _ := strconv.Atoi(port); n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("publish %q: port %s is out of range 1-65535", p, port)
		}
	}
	hostPort, _ = strconv.Atoi(m[2])
	if m[1] != "0.0.0.0" {
		bind = m[1]
	}
	return bind, hostPort, nil
}
