package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Transfer gets the image onto the server.
type Transfer interface {
	// Name is "registry" or "ssh".
	Name() string
	// Deliver makes the image available to the server's docker and
	// returns the reference compose should run.
	Deliver(ctx context.Context, s *App, image string) (string, error)
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
	// Tarball is the file to stream. Each deploy opens it on its own, so
	// every host of a fleet can read the same one.
	Tarball string
}

// Name implements Transfer.
func (SSH) Name() string { return "ssh" }

// TransferNames are the transfers.
func TransferNames() []string { return []string{"registry", "ssh"} }

// ParseTransferName validates a transfer name from user input.
func ParseTransferName(s string) (string, error) {
	for _, n := range TransferNames() {
		if s == n {
			return s, nil
		}
	}
	return "", fmt.Errorf("unknown transfer strategy %q: want one of %s", s, strings.Join(TransferNames(), ", "))
}

// Deliver logs in with the password on stdin, pulls, and logs out again so
// no credential stays on the server. The login uses a private docker
// config under the app dir.
func (r Registry) Deliver(ctx context.Context, s *App, image string) (string, error) {
	cfg := s.appDir + "/.docker"
	var script string
	if r.Username != "" {
		// The logout runs on exit, and a pull ended at its deadline (TERM
		// to the whole process group) exits through it too.
		script = fmt.Sprintf(`set -e; umask 077; export DOCKER_CONFIG=%[1]s; mkdir -p "$DOCKER_CONFIG"
trap 'docker logout %[2]s >/dev/null 2>&1 || true' EXIT
trap 'exit 143' TERM INT HUP
docker login --username %[3]s --password-stdin %[2]s >/dev/null
docker pull -q %[4]s >/dev/null`, Q(cfg), Q(r.Host), Q(r.Username), Q(image))
	} else {
		script = fmt.Sprintf("docker pull -q %s >/dev/null", Q(image))
	}
	limit := s.Timeouts().Pull
	if _, err := s.RunDeadline(ctx, "pull "+image, limit, script, strings.NewReader(r.Password)); err != nil {
		if errors.As(err, new(*sshconn.DeadlineError)) {
			return "", fmt.Errorf("pull on the server: %w; a slow registry or a large image needs a longer with-timeouts --pull (now %s)", err, limit)
		}
		var exit *sshconn.ExitError
		if errors.As(err, &exit) {
			exit.Stderr = withoutCredentialWarning(exit.Stderr)
			msg := strings.ToLower(exit.Stderr)
			// Docker says "401 Unauthorized" on a failed login and
			// "unauthorized"/"denied" on a refused pull.
			if strings.Contains(msg, "unauthorized") || strings.Contains(msg, "denied") {
				return "", fmt.Errorf("the registry %s refused the server's login or pull for %s: %w", r.Host, r.Username, err)
			}
		}
		return "", fmt.Errorf("pull on the server: %w", err)
	}
	return image, nil
}

// withoutCredentialWarning drops what `docker login` prints after a
// successful login about storing the credentials unencrypted: goship
// Logs out again right after the pull, and next to a pull error the
// warning reads as if it were the cause.
func withoutCredentialWarning(stderr string) string {
	var kept []string
	for _, line := range strings.Split(stderr, "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "stored unencrypted") || strings.Contains(l, "credential helper") || strings.Contains(l, "#credentials-store") {
			continue
		}
		kept = append(kept, line)
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

// Deliver streams the tarball into docker load.
func (t SSH) Deliver(ctx context.Context, s *App, image string) (string, error) {
	f, err := t.open()
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	limit := s.Timeouts().Pull
	out, err := s.RunDeadline(ctx, "docker load", limit, "docker load", f)
	if errors.As(err, new(*sshconn.DeadlineError)) {
		return "", fmt.Errorf("docker load on the server: %w; a slow link or a large image needs a longer with-timeouts --pull (now %s)", err, limit)
	}
	if err != nil {
		return "", fmt.Errorf("docker load on the server: %w", err)
	}
	loaded, err := loadedImage(out)
	if err != nil {
		return "", err
	}
	// A tarball without a tag (as Dagger exports them) loads as a bare ID:
	// give it the release's reference so compose can name it.
	if loaded != image {
		if _, err := s.RunDeadline(ctx, "docker tag", quickStep, "docker tag "+Q(loaded)+" "+Q(image), nil); err != nil {
			return "", fmt.Errorf("tag the loaded image as %s: %w", image, err)
		}
	}
	return image, nil
}

// ErrNoTarball is an ssh transfer without its image tarball.
var ErrNoTarball = errors.New("ssh transfer: no image tarball to stream")

// Check says whether the tarball, if named, is a file to stream, before
// anything connects; no tarball yet is for Open to refuse.
func (t SSH) Check() error {
	if t.Tarball == "" {
		return nil
	}
	fi, err := os.Stat(t.Tarball)
	if err != nil {
		return fmt.Errorf("image tarball for --transfer=ssh: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("image tarball %q for --transfer=ssh: not a regular file", t.Tarball)
	}
	return nil
}

// open opens the tarball to stream.
func (t SSH) open() (*os.File, error) {
	if t.Tarball == "" {
		return nil, ErrNoTarball
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return os.Open(t.Tarball)
}

// loadedImage reads what `docker load` said it loaded: a reference
// ("Loaded image: r:t") or an ID ("Loaded image ID: sha256:…").
func loadedImage(out string) (string, error) {
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
			return strings.TrimSpace(id), nil
		}
		if ref, ok := strings.CutPrefix(line, "Loaded image: "); ok {
			return strings.TrimSpace(ref), nil
		}
	}
	return "", fmt.Errorf("docker load loaded no image (it said %q)", strings.TrimSpace(out))
}
