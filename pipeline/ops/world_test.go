package ops

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// world is a registry holding opsapp v1 and v2 (testdata/opsapp: it logs
// every request, and its subcommands play one-off commands) and the local
// dockerd; each test makes its own hosts.
type world struct {
	reg    *testworld.Registry
	docker *testworld.Docker
	images map[string]name.Digest
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{reg: testworld.StartRegistry(t), docker: testworld.NeedDocker(t), images: map[string]name.Digest{}}
	bin := buildOpsapp(t)
	for _, v := range []string{"v1", "v2"} {
		w.images[v] = w.reg.Push(t, opsappImage(t, bin, v), "goship/opsapp:"+v)
	}
	return w
}

// buildOpsapp compiles testdata/opsapp statically for the containers.
func buildOpsapp(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "opsapp")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/opsapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/opsapp: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// opsappImage is opsapp as goship's runtime image, serving version.
func opsappImage(t *testing.T, bin []byte, version string) v1.Image {
	t.Helper()
	spec := image.DefaultRuntimeSpec(testworld.HelloPort)
	spec.Env = []string{"OPSAPP_VERSION=" + version}
	spec.Healthcheck = &image.Healthcheck{Command: []string{"/app", "health"}, Interval: 2 * time.Second, Timeout: 2 * time.Second, Retries: 3}
	img, err := image.Assemble(spec, image.File{Path: spec.BinaryPath, Mode: 0o755, Content: bin})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// server is one sshd standing in for a server, with its own app (every
// host shares the one dockerd, so each app is its own compose project)
// and published port.
type server struct {
	w    *world
	srv  *testworld.SSHServer
	app  string
	port int
}

func (w *world) newHost(t *testing.T, prefix string) *server {
	t.Helper()
	h := &server{w: w, srv: testworld.StartSSHD(t), port: testworld.FreePort(t)}
	h.app = fmt.Sprintf("%s%d", prefix, h.port)
	for _, p := range []string{h.app, h.app + "-blue", h.app + "-green"} {
		t.Cleanup(func() { w.docker.RemoveComposeProject(p) })
	}
	t.Cleanup(func() {
		ids, _ := w.docker.Try(nil, "ps", "-aq", "--filter", "label=dev.goship.app="+h.app)
		if f := strings.Fields(ids); len(f) > 0 {
			_, _ = w.docker.Try(nil, append([]string{"rm", "-f"}, f...)...)
		}
	})
	return h
}

func (h *server) ssh() sshconn.Config {
	return sshconn.Config{Host: h.srv.Host, Port: h.srv.Port, User: h.srv.User, PrivateKey: h.srv.ClientKeyPEM, KnownHosts: h.srv.KnownHosts}
}

func (h *server) dir() string { return h.srv.AppRoot + "/" + h.app }

func (h *server) target() Target { return Target{SSH: h.ssh(), App: h.app, AppDir: h.dir()} }

func (h *server) dial(t *testing.T) *sshconn.Client {
	t.Helper()
	c, err := sshconn.Dial(context.Background(), h.ssh())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// spec deploys version with recreate, published on the host's port.
func (h *server) spec(version string) compose.Spec {
	return compose.Spec{
		App: h.app, AppDir: h.dir(), Image: h.w.images[version].String(), Version: version, Who: "test@goship",
		Publish:  fmt.Sprintf("127.0.0.1:%d:%d", h.port, testworld.HelloPort),
		Health:   host.Health{Timeout: 30 * time.Second, Interval: 250 * time.Millisecond, Settle: time.Second},
		Transfer: host.Registry{Host: h.w.reg.Host, Username: h.w.reg.Username, Password: h.w.reg.Password},
	}
}

func (h *server) deploy(t *testing.T, spec compose.Spec) *compose.Result {
	t.Helper()
	res, err := compose.Deploy(context.Background(), h.dial(t), spec)
	if err != nil {
		t.Fatalf("deploy %s to %s: %v", spec.Version, h.app, err)
	}
	return res
}

// proxy is a blue-green proxy of the test's own on h.
func (h *server) proxy(t *testing.T) compose.Proxy {
	t.Helper()
	name := fmt.Sprintf("gsproxy%d", testworld.FreePort(t))
	t.Cleanup(func() { h.w.docker.RemoveProxy(name) })
	return compose.Proxy{Name: name, Root: h.srv.AppRoot + "/" + name, Image: testworld.ProxyImage(t, h.w.docker), Drain: 2 * time.Second}
}

// get requests path on the host's published port, as a user would, and
// so makes opsapp log a line.
func (h *server) get(t *testing.T, path string) string {
	t.Helper()
	body, err := h.fetch(path)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// fetch is get without a t, for other goroutines.
func (h *server) fetch(path string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", h.port, path))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s %s", path, resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// servingID is the container of the host's app in project.
func (h *server) servingID(t *testing.T, project string) string {
	t.Helper()
	return h.w.docker.Run(t, nil, "ps", "-aq", "--no-trunc", "--filter", "label=com.docker.compose.project="+project)
}

// logsUntil reads logs until ok accepts them (docker writes a line a
// moment after the app does), at most 15 s.
func logsUntil(t *testing.T, targets []Target, o LogsOptions, ok func([]HostLogs) bool) []HostLogs {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		views, err := Logs(context.Background(), targets, o)
		if err != nil {
			t.Fatalf("logs %+v: %v", o, err)
		}
		if ok(views) {
			return views
		}
		if time.Now().After(deadline) {
			out, err := FormatLogs(views)
			t.Fatalf("logs %+v never showed what the test waits for:\n%s%v", o, out, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// texts are a host's log messages.
func texts(v HostLogs) []string {
	var out []string
	for _, l := range v.Lines {
		out = append(out, l.Text)
	}
	return out
}

func containsAny(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}
