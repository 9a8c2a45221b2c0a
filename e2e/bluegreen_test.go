//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// Blue-green through the module, behind the test world's Caddy: an
// upgrade, a broken release and a rollback, each with a prober that sees
// no failed request.
func TestBlueGreenThroughTheModule(t *testing.T) {
	docker := testworld.NeedDocker(t)
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	srv := startServer(t)
	proxyImage, proxyDir := blueGreenProxy(t, docker, srv)
	deploy := func(created, timeout string, flags ...string) result {
		args := append([]string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created, "--healthcheck=health", "server"}, srv.args...)
		args = append(append(append(args, "deployment", "--transfer=ssh", srv.publish), flags...),
			"with-blue-green", "--drain=5s", "with-proxy", "--image="+proxyImage, "--dir="+proxyDir, "with-health", "--timeout="+timeout, "run")
		return goship(t, src, nil, args...)
	}
	must(t, deploy("2026-01-01T00:00:00Z", "60s"), "first blue-green deploy")
	v1 := getEventually(t, srv.url+"/version")

	p := testworld.StartProber(srv.url + "/healthz")
	must(t, deploy("2026-02-01T00:00:00Z", "60s"), "blue-green v1 -> v2")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after v2 = %q", v)
	}
	broken := filepath.Join(t.TempDir(), "broken.env")
	writeFile(t, broken, "HELLO_BROKEN=1\n")
	mustFail(t, deploy("2026-03-01T00:00:00Z", "15s", "--env=file://"+broken), "a broken blue-green release", "failed health gate")
	rollback := append(append([]string{"--sha=" + sha, "server"}, srv.args...), "rollback")
	must(t, goship(t, src, nil, rollback...), "blue-green rollback")
	p.Finish(t, "probes across v1 -> v2, a broken v3 and a rollback", 200)
	if v := getEventually(t, srv.url+"/version"); v != v1 {
		t.Fatalf("/version after the rollback = %q, want %q", v, v1)
	}
	status := goship(t, src, nil, append(append([]string{"server"}, srv.args...), "status")...)
	must(t, status, "status")
	if !strings.Contains(status.out, "blue-green") {
		t.Fatalf("status does not name the strategy:\n%s", status.out)
	}
}

// blueGreenProxy is the test world's Caddy image and a proxy directory
// the deploy user owns beside srv's app, for a blue-green deploy of
// "hello"; the proxy and both colors go when the test ends (the images
// the deploys pulled go with srv: startServer).
func blueGreenProxy(t *testing.T, docker *testworld.Docker, srv server) (image, dir string) {
	t.Helper()
	image = testworld.ProxyImage(t, docker)
	dir = filepath.Join(filepath.Dir(srv.appDir), "proxy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	testworld.ChownToDeployUser(t, dir)
	t.Cleanup(func() {
		docker.RemoveComposeProject("hello-blue")
		docker.RemoveComposeProject("hello-green")
		docker.RemoveProxy("goship-proxy")
	})
	return image, dir
}
