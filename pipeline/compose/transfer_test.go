package compose

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// The image goes over the SSH session into docker load: the server never
// talks to a registry (the reference names one that does not exist).
func TestSSHTransferNeedsNoRegistry(t *testing.T) {
	t.Parallel()
	w := &world{srv: testworld.StartSSHD(t), docker: testworld.NeedDocker(t)}
	app, port := w.app(t, "sshx")
	tag, err := name.NewTag(fmt.Sprintf("registry.invalid/goship/%s:v2", app))
	if err != nil {
		t.Fatal(err)
	}
	img := testworld.HelloImage(t, "v2", false)
	file := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(file, tag, img); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = w.docker.Try(nil, "image", "rm", "-f", tag.String()) })

	spec := Spec{
		App: app, AppDir: w.srv.AppRoot + "/" + app, Image: tag.String(), Who: "test",
		Publish:  fmt.Sprintf("127.0.0.1:%d:%d", port, testworld.HelloPort),
		Health:   host.Health{Timeout: 20 * time.Second, Interval: 250 * time.Millisecond},
		Transfer: host.SSH{Tarball: file},
	}
	if _, err := Deploy(context.Background(), w.dial(t), spec); err != nil {
		t.Fatal(err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q", got)
	}
}

// While a deploy runs, every process's argv on the server is sampled: the
// registry password and the .env secret never appear. The server is this
// machine, so /proc is the server's.
func TestSecretsNeverInServerArgv(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, port := w.app(t, "secret")
	envSecret := "DB_PASSWORD=env-secret-" + fmt.Sprint(time.Now().UnixNano())
	spec := w.spec(app, port, "v1")
	spec.Env = []byte(envSecret + "\n")

	stop := make(chan struct{})
	var mu sync.Mutex
	var leaks []string
	samples := 0
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				b, err := os.ReadFile(p)
				if err != nil {
					continue
				}
				for _, secret := range []string{w.reg.Password, "env-secret-"} {
					if bytes.Contains(b, []byte(secret)) && !strings.Contains(string(b), ".test") {
						mu.Lock()
						leaks = append(leaks, strings.ReplaceAll(string(b), "\x00", " "))
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			samples++
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	_, err := Deploy(context.Background(), w.dial(t), spec)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(leaks) > 0 {
		t.Fatalf("secrets seen in argv: %q", leaks)
	}
	if samples < 20 {
		t.Fatalf("only %d samples of /proc during the deploy", samples)
	}
	appDir := filepath.Join(w.srv.AppRoot, app)
	rels, _ := filepath.Glob(filepath.Join(appDir, "releases", "*", ".env"))
	if len(rels) != 1 {
		t.Fatalf(".env files: %v", rels)
	}
	fi, err := os.Stat(rels[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf(".env mode = %v (%v), want 0600", fi.Mode(), err)
	}
	for _, f := range []string{"deploys.log", "releases"} {
		out, _ := testworld.Run(context.Background(), nil, nil, "grep", "-rl", "--exclude=.env", "env-secret-\\|"+w.reg.Password, filepath.Join(appDir, f))
		if strings.TrimSpace(out) != "" {
			t.Fatalf("secret written to %s", out)
		}
	}
	// The server-side docker login was removed after the pull.
	if b, err := os.ReadFile(filepath.Join(appDir, ".docker", "config.json")); err == nil && bytes.Contains(b, []byte(`"auth"`)) {
		t.Fatalf("registry credentials left on the server: %s", b)
	}
}
