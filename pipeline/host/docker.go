package host

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Up starts a release's compose project (recreating changed services),
// within the up timeout.
func (s *App) Up(ctx context.Context, release string) error {
	_, err := s.RunDeadline(ctx, "compose up "+release, s.Timeouts().Up, s.ComposeCmd(release, "up -d --remove-orphans"), nil)
	return err
}

// Down stops a release's compose project.
func (s *App) Down(ctx context.Context, release string) error {
	_, err := s.Run(ctx, "compose down "+release, s.ComposeCmd(release, "down --remove-orphans"), nil)
	return err
}

// ContainerID is the service's container. It asks docker by the labels
// both compose v1 and v2 set, rather than `compose ps`: compose v1 is a
// Python program that takes a noticeable while to start, and the gate asks
// often. The release's compose file is what created the container; the
// Gate then checks it runs the release's image.
func (s *App) ContainerID(ctx context.Context, release string) (string, error) {
	script := fmt.Sprintf("docker ps -aq --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=%s",
		Q(s.project), Q(s.service))
	out, err := s.RunDeadline(ctx, "docker ps", quickStep, script, nil)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if id == "" {
		return "", fmt.Errorf("service %q of release %s has no container", s.service, release)
	}
	return strings.Split(id, "\n")[0], nil
}

// ContainerState is what docker says about a container.
type ContainerState struct {
	Status   string // running, restarting, exited, …
	Health   string // healthy, unhealthy, starting, or none
	Image    string // image ID
	Restarts int
}

const inspectFormat = `{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Image}} {{.RestartCount}}`

// Inspect is what docker says about container id.
func (s *App) Inspect(ctx context.Context, id string) (ContainerState, error) {
	out, err := s.RunDeadline(ctx, "docker inspect", quickStep, "docker inspect --format "+Q(inspectFormat)+" "+Q(id), nil)
	if err != nil {
		return ContainerState{}, err
	}
	return parseInspect(id, out)
}

// parseInspect reads one line of inspectFormat.
func parseInspect(id, out string) (ContainerState, error) {
	f := strings.Fields(out)
	if len(f) != 4 {
		return ContainerState{}, fmt.Errorf("docker inspect %s: unexpected %q", id, out)
	}
	n, err := strconv.Atoi(f[3])
	if err != nil {
		return ContainerState{}, fmt.Errorf("docker inspect %s: restart count %q", id, f[3])
	}
	return ContainerState{Status: f[0], Health: f[1], Image: f[2], Restarts: n}, nil
}

// Logs is the tail of a container's logs.
func (s *App) Logs(ctx context.Context, id string, lines int) string {
	out, err := s.RunDeadline(ctx, "docker logs", quickStep, fmt.Sprintf("docker logs --tail %d %s 2>&1", lines, Q(id)), nil)
	if err != nil {
		return "(logs unavailable: " + err.Error() + ")"
	}
	return out
}

// ImageID resolves an image reference on the server.
func (s *App) ImageID(ctx context.Context, ref string) (string, error) {
	out, err := s.RunDeadline(ctx, "docker image inspect", quickStep, "docker image inspect --format '{{.Id}}' "+Q(ref), nil)
	if err != nil {
		return "", fmt.Errorf("image %s is not on the server: %w", ref, err)
	}
	return strings.TrimSpace(out), nil
}
