package deploy

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// server runs goship's steps on one app's directory on the docker host.
type server struct {
	c       *sshconn.Client
	app     string
	appDir  string
	service string
	compose string // "docker compose" or "docker-compose"
}

func q(s string) string { return shellescape.Quote(s) }

func newServer(c *sshconn.Client, app, appDir, service string) *server {
	return &server{c: c, app: app, appDir: appDir, service: service}
}

func (s *server) run(ctx context.Context, what, script string, stdin io.Reader) (string, error) {
	return s.c.Run(ctx, what, script, stdin)
}

// Exit codes of the preflight script.
const (
	exitNoDocker   = 10
	exitNoCompose  = 11
	exitNoFlock    = 12
	exitNotWritten = 13
)

// preflight checks docker, compose, flock and disk before anything
// changes, and learns which compose command the server has.
func (s *server) preflight(ctx context.Context, minFreeMB int) error {
	script := fmt.Sprintf(`docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 || { docker info 2>&1 | tail -n 2 >&2; exit %d; }
if docker compose version >/dev/null 2>&1; then echo "docker compose"
elif command -v docker-compose >/dev/null 2>&1; then echo docker-compose
else exit %d; fi
command -v flock >/dev/null 2>&1 || exit %d
mkdir -p %s/releases %s 2>/dev/null && test -w %s || exit %d
df -Pk %s | awk 'NR==2 {print $4}'`,
		exitNoDocker, exitNoCompose, exitNoFlock, q(s.appDir), q(SharedDir(s.appDir)), q(s.appDir), exitNotWritten, q(s.appDir))
	out, err := s.run(ctx, "preflight", script, nil)
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

func (s *server) releaseDir(name string) string { return s.appDir + "/releases/" + name }

// composeCmd is the compose invocation for a release directory.
func (s *server) composeCmd(release, args string) string {
	return fmt.Sprintf("cd %s && %s -p %s -f compose.yaml %s", q(s.releaseDir(release)), s.compose, q(s.app), args)
}

// writeRelease creates releases/<name>/ from a tar stream on stdin, so the
// .env content never appears in any argv. It is written to a temp dir and
// renamed, so a cut connection leaves no half-written release.
func (s *server) writeRelease(ctx context.Context, name string, files map[string]fileContent) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, fname := range []string{"compose.yaml", ".env", "release.json"} {
		f, ok := files[fname]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: fname, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	dir := s.releaseDir(name)
	script := fmt.Sprintf("set -e; umask 077; rm -rf %[1]s.tmp; mkdir -p %[1]s.tmp; tar -x -C %[1]s.tmp; chmod 0700 %[1]s.tmp; mv %[1]s.tmp %[1]s", q(dir))
	if _, err := s.run(ctx, "write release "+name, script, &buf); err != nil {
		return fmt.Errorf("write release: %w", err)
	}
	return nil
}

type fileContent struct {
	data []byte
	mode int64
}

// up starts a release's compose project (recreating changed services).
func (s *server) up(ctx context.Context, release string) error {
	_, err := s.run(ctx, "compose up "+release, s.composeCmd(release, "up -d --remove-orphans"), nil)
	return err
}

// down stops a release's compose project.
func (s *server) down(ctx context.Context, release string) error {
	_, err := s.run(ctx, "compose down "+release, s.composeCmd(release, "down --remove-orphans"), nil)
	return err
}

// containerID is the service's container. It asks docker by the labels
// both compose v1 and v2 set, rather than `compose ps`: compose v1 is a
// Python program that takes a noticeable while to start, and the gate asks
// often. The release's compose file is what created the container; the
// gate then checks it runs the release's image.
func (s *server) containerID(ctx context.Context, release string) (string, error) {
	script := fmt.Sprintf("docker ps -aq --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=%s",
		q(s.app), q(s.service))
	out, err := s.run(ctx, "docker ps", script, nil)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if id == "" {
		return "", fmt.Errorf("service %q of release %s has no container", s.service, release)
	}
	return strings.Split(id, "\n")[0], nil
}

// containerState is what docker says about a container.
type containerState struct {
	Status   string // running, restarting, exited, …
	Health   string // healthy, unhealthy, starting, or none
	Image    string // image ID
	Restarts int
}

const inspectFormat = `{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Image}} {{.RestartCount}}`

func (s *server) inspect(ctx context.Context, id string) (containerState, error) {
	out, err := s.run(ctx, "docker inspect", "docker inspect --format "+q(inspectFormat)+" "+q(id), nil)
	if err != nil {
		return containerState{}, err
	}
	return parseInspect(id, out)
}

// parseInspect reads one line of inspectFormat.
func parseInspect(id, out string) (containerState, error) {
	f := strings.Fields(out)
	if len(f) != 4 {
		return containerState{}, fmt.Errorf("docker inspect %s: unexpected %q", id, out)
	}
	n, err := strconv.Atoi(f[3])
	if err != nil {
		return containerState{}, fmt.Errorf("docker inspect %s: restart count %q", id, f[3])
	}
	return containerState{Status: f[0], Health: f[1], Image: f[2], Restarts: n}, nil
}

// logs is the tail of a container's logs.
func (s *server) logs(ctx context.Context, id string, lines int) string {
	out, err := s.run(ctx, "docker logs", fmt.Sprintf("docker logs --tail %d %s 2>&1", lines, q(id)), nil)
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	return out
}

// imageID resolves an image reference on the server.
func (s *server) imageID(ctx context.Context, ref string) (string, error) {
	out, err := s.run(ctx, "docker image inspect", "docker image inspect --format '{{.Id}}' "+q(ref), nil)
	if err != nil {
		return "", fmt.Errorf("image %s is not on the server: %w", ref, err)
	}
	return strings.TrimSpace(out), nil
}

// current is the release `current` points at, or "".
func (s *server) current(ctx context.Context) (string, error) {
	out, err := s.run(ctx, "read current", fmt.Sprintf("readlink %s/current || true", q(s.appDir)), nil)
	if err != nil {
		return "", err
	}
	target := strings.TrimSpace(out)
	return strings.TrimPrefix(target, "releases/"), nil
}

// switchCurrent points `current` at release atomically (rename over the
// old link).
func (s *server) switchCurrent(ctx context.Context, release string) error {
	script := fmt.Sprintf("cd %s && ln -sfn %s current.tmp && mv -Tf current.tmp current", q(s.appDir), q("releases/"+release))
	_, err := s.run(ctx, "switch current", script, nil)
	return err
}

// appendLog adds one JSON line to deploys.log.
func (s *server) appendLog(ctx context.Context, e LogEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.run(ctx, "append deploys.log", fmt.Sprintf("cat >> %s/deploys.log", q(s.appDir)), bytes.NewReader(append(line, '\n')))
	return err
}

// records reads every release.json.
func (s *server) records(ctx context.Context) ([]Record, error) {
	script := fmt.Sprintf(`cd %s/releases 2>/dev/null || exit 0
for d in */; do [ -f "$d/release.json" ] && { tr -d '\n' < "$d/release.json"; echo; }; done; true`, q(s.appDir))
	out, err := s.run(ctx, "list releases", script, nil)
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("release.json: %w", err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// saveRecord rewrites a release's release.json.
func (s *server) saveRecord(ctx context.Context, r Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	dir := s.releaseDir(r.Name)
	script := fmt.Sprintf("cat > %[1]s/release.json.tmp && mv -f %[1]s/release.json.tmp %[1]s/release.json", q(dir))
	_, err = s.run(ctx, "update release.json", script, bytes.NewReader(data))
	return err
}

// begin runs the preflight and takes the deploy lock: the start of every
// change to the server.
func (s *server) begin(ctx context.Context, minFreeMB int, who string) (*lock, error) {
	if err := s.preflight(ctx, minFreeMB); err != nil {
		return nil, err
	}
	return s.lock(ctx, who)
}

// history is every release, newest first with the current one marked,
// and the current release's name.
func (s *server) history(ctx context.Context) ([]Record, string, error) {
	recs, err := s.records(ctx)
	if err != nil {
		return nil, "", err
	}
	cur, err := s.current(ctx)
	if err != nil {
		return nil, "", err
	}
	sortNewestFirst(recs)
	for i := range recs {
		recs[i].Current = recs[i].Name == cur
	}
	return recs, cur, nil
}
