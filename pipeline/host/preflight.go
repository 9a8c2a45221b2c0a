package host

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Exit codes of the preflight script.
const (
	exitNoDocker   = 10
	exitNoCompose  = 11
	exitNoFlock    = 12
	exitNotWritten = 13
)

// Preflight checks docker, compose, flock and disk before anything
// changes, and learns which compose command the server has.
func (s *App) Preflight(ctx context.Context, minFreeMB int) error {
	script := fmt.Sprintf(`docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 || { docker info 2>&1 | tail -n 2 >&2; exit %d; }
if docker compose version >/dev/null 2>&1; then echo "docker compose"
elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose
else exit %d; fi
command -v flock >/dev/null 2>&1 || exit %d
mkdir -p %s/releases %s 2>/dev/null && test -w %s || exit %d
df -Pk %s | awk 'NR==2 {print $4}'`,
		exitNoDocker, exitNoCompose, exitNoFlock, Q(s.appDir), Q(SharedDir(s.appDir)), Q(s.appDir), exitNotWritten, Q(s.appDir))
	out, err := s.RunDeadline(ctx, "preflight", quickStep, script, nil)
	var exit *sshconn.ExitError
	if errors.As(err, &exit) {
		switch exit.Status {
		case exitNoDocker:
			return fmt.Errorf("preflight on %s: the deploy user cannot use docker (%s): add it to the docker group (sudo usermod -aG docker USER) and reconnect", s.c.Target(), strings.TrimSpace(exit.Stderr))
		case exitNoCompose:
			return fmt.Errorf("preflight on %s: neither `docker compose` nor `docker-compose` is installed", s.c.Target())
		case exitNoFlock:
			return fmt.Errorf("preflight on %s: flock (util-linux) is missing; goship uses it for the deploy lock", s.c.Target())
		case exitNotWritten:
			return fmt.Errorf("preflight on %s: cannot write %s: create it and give the deploy user ownership (sudo install -d -o USER %s)", s.c.Target(), s.appDir, s.appDir)
		}
	}
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		return fmt.Errorf("preflight on %s: unexpected output %q", s.c.Target(), out)
	}
	s.compose = lines[0]
	freeKB, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil {
		return fmt.Errorf("preflight on %s: reading free disk: %q", s.c.Target(), lines[1])
	}
	if freeKB/1024 < minFreeMB {
		return fmt.Errorf("preflight on %s: only %d MB free under %s, need %d MB: prune images (docker image prune) or grow the disk", s.c.Target(), freeKB/1024, s.appDir, minFreeMB)
	}
	return nil
}

// ExitNotWritten is the exit status scripts use when a directory the
// deploy user must own cannot be written.
const ExitNotWritten = exitNotWritten
