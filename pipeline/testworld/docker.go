package testworld

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Docker is the local dockerd, reached through the docker CLI with a
// private client config so logins in tests never touch ~/.docker.
type Docker struct {
	ConfigDir string
}

// NeedDocker fails t unless a docker daemon answers. `.ci/run` starts one.
func NeedDocker(t testing.TB) *Docker {
	t.Helper()
	need(t, "docker", "docker.io")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Run(ctx, nil, nil, "docker", "info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Fatalf("testworld: no docker daemon answers (%v): install \"docker.io\" and start dockerd (`.ci/run` does both)", err)
	}
	return &Docker{ConfigDir: Dir(t, "dockercfg")}
}

// Run runs a docker CLI command, failing t on error.
func (d *Docker) Run(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	out, err := d.Try(stdin, args...)
	if err != nil {
		t.Fatalf("testworld: %v", err)
	}
	return strings.TrimSpace(out)
}

// Try runs a docker CLI command and returns its error.
func (d *Docker) Try(stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Run(ctx, stdin, []string{"DOCKER_CONFIG=" + d.ConfigDir}, append([]string{"docker"}, args...)...)
}

// Login logs in to a registry with the password on stdin.
func (d *Docker) Login(t testing.TB, r *Registry) {
	t.Helper()
	d.Run(t, []byte(r.Password), "login", "--username", r.Username, "--password-stdin", r.Host)
}

// RemoveContainer force-removes a container when the test ends.
func (d *Docker) RemoveContainer(t testing.TB, name string) {
	t.Cleanup(func() { _, _ = d.Try(nil, "rm", "-f", name) })
}

// RemoveComposeProject removes a compose project's containers, networks and volumes
// (left behind, networks exhaust docker's address pools after ~30 tests).
func (d *Docker) RemoveComposeProject(project string) {
	label := "label=com.docker.compose.project=" + project
	list := func(args ...string) []string {
		out, _ := d.Try(nil, append(args, "--filter", label)...)
		return strings.Fields(out)
	}
	// Containers first: a network or volume in use cannot be removed. A
	// deploy keeps the project's named volumes (they hold its data); the
	// test's go with it.
	if ids := list("ps", "-aq"); len(ids) > 0 {
		_, _ = d.Try(nil, append([]string{"rm", "-f"}, ids...)...)
	}
	for _, id := range list("network", "ls", "-q") {
		d.RemoveNetwork(id)
	}
	if ids := list("volume", "ls", "-q"); len(ids) > 0 {
		_, _ = d.Try(nil, append([]string{"volume", "rm", "-f"}, ids...)...)
	}
}

// RemoveProxy removes a blue-green proxy: its compose project, then the
// network of the same name that goship creates for it beside the project.
func (d *Docker) RemoveProxy(name string) {
	d.RemoveComposeProject(name)
	d.RemoveNetwork(name)
}

// RemoveNetwork removes a network, cutting off first any container still
// on it: one of another project whose cleanup has not run yet keeps the
// network in use, and a clean run then left it behind.
func (d *Docker) RemoveNetwork(name string) {
	attached, _ := d.Try(nil, "network", "inspect", "--format", "{{range .Containers}}{{.Name}} {{end}}", name)
	for _, c := range strings.Fields(attached) {
		_, _ = d.Try(nil, "network", "disconnect", "--force", name, c)
	}
	_, _ = d.Try(nil, "network", "rm", name)
}
