//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// server is the test world's docker host as goship's SSH flags name it.
type server struct {
	args    []string // --host … --known-hosts … --app-dir, for every server function
	publish string   // --publish of the app under test, for its deployments
	url     string   // the app as this machine reaches it

	addr       string // host:port
	appDir     string
	clientKey  []byte
	knownHosts []byte
	publicKey  ssh.PublicKey
}

func startServer(t *testing.T) server {
	t.Helper()
	docker := testworld.NeedDocker(t)
	srv := testworld.StartSSHD(t)
	dir := t.TempDir()
	key, known := filepath.Join(dir, "key"), filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(key, srv.ClientKeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(known, srv.KnownHosts, 0o600); err != nil {
		t.Fatal(err)
	}
	port := testworld.FreePort(t)
	testworld.RemoveImagesOnCleanup(t, localImages)
	t.Cleanup(func() { docker.RemoveComposeProject("hello") })
	signer, err := ssh.ParsePrivateKey(srv.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return server{
		args: []string{"--host=" + srv.Host, "--port=" + strconv.Itoa(srv.Port), "--user=" + srv.User,
			"--key=file://" + key, "--known-hosts=file://" + known, "--app-dir=" + srv.AppRoot + "/hello"},
		publish: fmt.Sprintf("--publish=127.0.0.1:%d:8080", port),
		url:     fmt.Sprintf("http://127.0.0.1:%d", port),
		addr:    srv.Addr(), appDir: srv.AppRoot + "/hello", clientKey: srv.ClientKeyPEM, knownHosts: srv.KnownHosts,
		publicKey: signer.PublicKey(),
	}
}

// The delivery chain through the module: publish to an authenticated
// registry behind a private CA, deploy from it, deploy over SSH with no
// registry, a broken release rolled back automatically, the history,
// status, a manual rollback, unlock, and release (ci, publish, deploy).
func TestPublishDeployRollback(t *testing.T) {
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	reg := testworld.StartRegistry(t, testworld.WithTLS())
	reg.TrustForDocker(t) // the server pulls from it, as a private registry's hosts are set up
	srv := startServer(t)
	hook := startWebhook(t)
	env := []string{"REG_PASSWORD=" + reg.Password, "GOSHIP_HOOK=json+" + hook.url}
	ctx := func(created string) []string {
		return []string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created, "--registry-ca=" + reg.CAFile, "--healthcheck=health",
			"--notify=env://GOSHIP_HOOK"}
	}
	call := func(created string, args ...string) result {
		return goship(t, src, env, append(ctx(created), args...)...)
	}
	registryArgs := []string{"--registry-host=" + reg.Host, "--namespace=goship", "--repository=hello", "--username=" + reg.Username, "--password=env://REG_PASSWORD"}

	ref := must(t, call("2026-01-01T00:00:00Z", append([]string{"publish"}, registryArgs...)...), "publish")
	if !strings.HasPrefix(ref, reg.Host+"/goship/hello@sha256:") {
		t.Fatalf("publish returned %q", ref)
	}
	// on calls a function of the server object: server --host … <fn> args.
	on := func(created, fn string, args ...string) result {
		chain := append(append([]string{"server"}, srv.args...), fn)
		return call(created, append(chain, args...)...)
	}
	// deploy is `deployment <flags> with-health --timeout=… run`.
	deploy := func(created, timeout string, flags ...string) result {
		return on(created, "deployment", append(append([]string{srv.publish}, flags...), "with-health", "--timeout="+timeout, "run")...)
	}
	must(t, deploy("2026-01-01T00:00:00Z", "60s", "--image="+ref, "--registry-username="+reg.Username, "--registry-password=env://REG_PASSWORD"), "deploy from the registry")
	hook.expect(t, "deploy", "succeeded")
	v1 := getEventually(t, srv.url+"/version")
	if !strings.Contains(v1, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after the first deploy = %q", v1)
	}

	must(t, deploy("2026-02-01T00:00:00Z", "60s", "--transfer=ssh"), "deploy over ssh")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after the ssh deploy = %q", v)
	}

	broken := filepath.Join(t.TempDir(), "broken.env")
	writeFile(t, broken, "HELLO_BROKEN=1\n")
	mustFail(t, deploy("2026-03-01T00:00:00Z", "20s", "--transfer=ssh", "--env=file://"+broken),
		"deploy of a broken release", "failed health gate", "rolled back to")
	hook.expect(t, "deploy", "succeeded")
	hook.expect(t, "deploy", "rolled-back")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after the failed deploy = %q: the previous release must serve", v)
	}

	const later = "2026-05-01T00:00:00Z"
	releases := on(later, "releases")
	must(t, releases, "releases")
	if strings.Count(releases.out, "healthy") < 2 || !strings.Contains(releases.out, "failed") {
		t.Fatalf("releases:\n%s", releases.out)
	}
	status := on(later, "status")
	must(t, status, "status")
	if !strings.Contains(status.out, "OK: release") {
		t.Fatalf("status:\n%s", status.out)
	}

	must(t, on(later, "rollback"), "rollback")
	hook.expect(t, "rollback", "succeeded")
	if v := getEventually(t, srv.url+"/version"); v != v1 {
		t.Fatalf("/version after rollback = %q, want %q", v, v1)
	}
	mustFail(t, on(later, "unlock"), "unlock with no deploy running", "not held")

	release := append(append([]string{"--scanners=secret", "server"}, srv.args...), "deployment", srv.publish, "release")
	release = append(release, registryArgs...)
	must(t, call("2026-04-01T00:00:00Z", release...), "release")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260401000000-01234567") {
		t.Fatalf("/version after release = %q", v)
	}

	// The same server object over a fleet: a second host that never got
	// the app shows up as such beside the first, which serves.
	other := testworld.StartSSHD(t)
	fleetDir := t.TempDir()
	key, known := filepath.Join(fleetDir, "key"), filepath.Join(fleetDir, "known_hosts")
	writeFile(t, key, string(srv.clientKey))
	writeFile(t, known, string(srv.knownHosts)+string(other.KnownHosts))
	other.Authorize(t, srv.publicKey)
	fleetArgs := []string{"server", "--host=" + srv.addr, "--host=" + other.Addr(), "--user=" + other.User,
		"--key=file://" + key, "--known-hosts=file://" + known, "--app-dir=" + srv.appDir}
	status = call(later, append(fleetArgs, "status")...)
	must(t, status, "fleet status")
	if !strings.Contains(status.out, srv.addr) || !strings.Contains(status.out, other.Addr()) {
		t.Fatalf("fleet status does not name both hosts:\n%s", status.out)
	}
	onlyFirst := filepath.Join(fleetDir, "known_hosts_first")
	writeFile(t, onlyFirst, string(srv.knownHosts))
	mustFail(t, call(later, append(fleetArgs[:len(fleetArgs)-1], "--known-hosts=file://"+onlyFirst, "status")...),
		"a fleet whose second host known_hosts does not pin", "known_hosts has no entry")
}

// webhook records the JSON events goship posts, as a team's bot would
// receive them.
type webhook struct {
	url    string
	events chan map[string]any
}

func startWebhook(t *testing.T) *webhook {
	t.Helper()
	w := &webhook{events: make(chan map[string]any, 16)}
	addr := testworld.ServeHTTP(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.events <- ev
	}))
	w.url = "http://" + addr + "/hook"
	return w
}

// expect takes the next event and checks its kind and outcome.
func (w *webhook) expect(t *testing.T, kind, outcome string) {
	t.Helper()
	select {
	case ev := <-w.events:
		if ev["kind"] != kind || ev["outcome"] != outcome || ev["app"] != "hello" {
			t.Fatalf("webhook got %v, want a %s %s of hello", ev, kind, outcome)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s %s event reached the webhook", kind, outcome)
	}
}
