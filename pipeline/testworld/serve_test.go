//go:build world

package testworld

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestServe starts the test world for manual use (task dev:world:start)
// and keeps it up until GOSHIP_WORLD_DIR/stop appears (task
// dev:world:stop) or two hours pass. Connection details go to
// GOSHIP_WORLD_DIR/world.env.
func TestServe(t *testing.T) {
	dir := os.Getenv("GOSHIP_WORLD_DIR")
	if dir == "" {
		t.Fatal("set GOSHIP_WORLD_DIR (task dev:world:start does)")
	}
	reg := StartRegistry(t)
	srv := StartSSHD(t)
	NeedDocker(t)
	rel := HelloReleases(t, reg)
	writeFile(t, filepath.Join(dir, "id_ed25519"), srv.ClientKeyPEM, 0o600)
	writeFile(t, filepath.Join(dir, "known_hosts"), srv.KnownHosts, 0o644)
	env := fmt.Sprintf(`GOSHIP_REGISTRY=%s
GOSHIP_REGISTRY_USER=%s
GOSHIP_REGISTRY_PASSWORD=%s
GOSHIP_SSH_HOST=%s
GOSHIP_SSH_PORT=%d
GOSHIP_SSH_USER=%s
GOSHIP_SSH_KEY=%s
GOSHIP_KNOWN_HOSTS=%s
GOSHIP_APP_ROOT=%s
GOSHIP_HELLO_V1=%s
GOSHIP_HELLO_V2=%s
GOSHIP_HELLO_V3=%s
`, reg.Host, reg.Username, reg.Password, srv.Host, srv.Port, srv.User,
		filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "known_hosts"), srv.AppRoot,
		rel["v1"], rel["v2"], rel["v3"])
	writeFile(t, filepath.Join(dir, "world.env"), []byte(env), 0o600)
	t.Logf("test world up; details in %s", filepath.Join(dir, "world.env"))
	for deadline := time.Now().Add(2 * time.Hour); time.Now().Before(deadline); time.Sleep(time.Second) {
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			return
		}
	}
}
