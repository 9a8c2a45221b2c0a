package testworld

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is a running distribution v2 registry with basic auth.
type Registry struct {
	Host     string // ListenHost():port
	Username string
	Password string
}

// StartRegistry runs Debian's docker-registry on a free loopback port with
// one htpasswd user and storage in a temp dir.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := need(t, "docker-registry", "docker-registry")
	dir := Dir(t, "registry")
	r := &Registry{
		Host:     net.JoinHostPort(ListenHost(), strconv.Itoa(FreePort(t))),
		Username: "goship",
		Password: "s3cret-" + randomToken(t, 12),
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: goship-test
    path: %s
`, filepath.Join(dir, "data"), r.Host, htpasswd)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "docker-registry", filepath.Join(dir, "registry.log"), exec.Command(bin, "serve", cfgPath))
	waitRegistry(t, r.Host)
	return r
}

// waitRegistry waits for the /v2/ endpoint to ask for credentials.
func waitRegistry(t testing.TB, host string) {
	t.Helper()
	WaitTCP(t, host, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testworld: registry on %s never answered 401 on /v2/ (err %v)", host, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
