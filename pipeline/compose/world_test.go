package compose

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// world is one deploy target with a registry holding hello v1, v2 and a
// broken v3.
type world struct {
	reg      *testworld.Registry
	srv      *testworld.SSHServer
	docker   *testworld.Docker
	releases map[string]name.Digest
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{reg: testworld.StartRegistry(t), srv: testworld.StartSSHD(t), docker: testworld.NeedDocker(t)}
	w.releases = testworld.HelloReleases(t, w.reg)
	return w
}

func (w *world) dial(t *testing.T) *sshconn.Client {
	t.Helper()
	c, err := sshconn.Dial(context.Background(), w.sshConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (w *world) sshConfig() sshconn.Config {
	return sshconn.Config{Host: w.srv.Host, Port: w.srv.Port, User: w.srv.User, PrivateKey: w.srv.ClientKeyPEM, KnownHosts: w.srv.KnownHosts}
}

// app returns a fresh app name and host port, removing its containers when
// the test ends.
func (w *world) app(t *testing.T, prefix string) (string, int) {
	t.Helper()
	port := testworld.FreePort(t)
	app := fmt.Sprintf("%s%d", prefix, port)
	t.Cleanup(func() { w.docker.RemoveComposeProject(app) })
	return app, port
}

func (w *world) spec(app string, port int, version string) Spec {
	return Spec{
		App: app, AppDir: w.srv.AppRoot + "/" + app,
		Image:   w.releases[version].String(),
		Version: version, Who: "test@goship",
		Publish:  fmt.Sprintf("127.0.0.1:%d:%d", port, testworld.HelloPort),
		Health:   host.Health{Timeout: 20 * time.Second, Interval: 250 * time.Millisecond, Settle: 2 * time.Second},
		Transfer: host.Registry{Host: w.reg.Host, Username: w.reg.Username, Password: w.reg.Password},
	}
}

// version GETs /version from the host the way a user would.
func version(t *testing.T, port int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/version", port))
	if err != nil {
		return "down: " + err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
