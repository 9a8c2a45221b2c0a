package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// deliver logs in with the password on stdin, pulls, and logs out again so
// no credential stays on the server. The login uses a private docker
// config under the app dir.
func (r Registry) deliver(ctx context.Context, s *server, image string) (string, error) {
	cfg := s.appDir + "/.docker"
	var script string
	if r.Username != "" {
		script = fmt.Sprintf(`set -e; umask 077; export DOCKER_CONFIG=%[1]s; mkdir -p "$DOCKER_CONFIG"
trap 'docker logout %[2]s >/dev/null 2>&1 || true' EXIT
docker login --username %[3]s --password-stdin %[2]s >/dev/null
docker pull -q %[4]s >/dev/null`, q(cfg), q(r.Host), q(r.Username), q(image))
	} else {
		script = fmt.Sprintf("docker pull -q %s >/dev/null", q(image))
	}
	if _, err := s.run(ctx, "pull "+image, script, strings.NewReader(r.Password)); err != nil {
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
// logs out again right after the pull, and next to a pull error the
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

// deliver streams the tarball into docker load.
func (t SSH) deliver(ctx context.Context, s *server, image string) (string, error) {
	if t.Tarball == nil {
		return "", fmt.Errorf("ssh transfer: no image tarball")
	}
	out, err := s.run(ctx, "docker load", "docker load", t.Tarball)
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
		if _, err := s.run(ctx, "docker tag", "docker tag "+q(loaded)+" "+q(image), nil); err != nil {
			return "", fmt.Errorf("tag the loaded image as %s: %w", image, err)
		}
	}
	return image, nil
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
