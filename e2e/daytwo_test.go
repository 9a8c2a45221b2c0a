//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// The day-2 verbs through the module, on a blue-green app served over
// HTTPS with a certificate from the test world's CA: details, logs,
// exec, maintenance on and off, a migration that fails and stops the
// deploy before traffic moves, and a deploy that waits for the lock.
func TestDayTwoThroughTheModule(t *testing.T) {
	docker := testworld.NeedDocker(t)
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	srv := startServer(t)
	proxyImage, proxyDir := blueGreenProxy(t, docker, srv)
	ca := testworld.NewCA(t)
	certPEM, keyPEM := ca.ServerCert(t, "app.test")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cert.pem"), string(certPEM))
	writeFile(t, filepath.Join(dir, "key.pem"), string(keyPEM))
	server := append([]string{"--sha=" + sha, "--healthcheck=health", "server"}, srv.args...)
	on := func(created string, fn ...string) result {
		args := append([]string{"--created=" + created}, server...)
		return goship(t, src, nil, append(args, fn...)...)
	}
	// deploy is a blue-green deployment over HTTPS, with more With… calls.
	deploy := func(created string, chain ...string) result {
		args := []string{"deployment", "--transfer=ssh", srv.publish, "with-blue-green", "--drain=5s",
			"with-proxy", "--image=" + proxyImage, "--dir=" + proxyDir, "--tls-cert=file://" + filepath.Join(dir, "cert.pem"),
			"--tls-key=file://" + filepath.Join(dir, "key.pem"), "--tls-redirect-from=-1", "with-health", "--timeout=60s"}
		return on(created, append(append(args, chain...), "run")...)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	trusting := &tls.Config{RootCAs: roots, ServerName: "app.test", MinVersion: tls.VersionTLS12}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: trusting}}
	https := strings.Replace(srv.url, "http://", "https://", 1)
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		resp, err := client.Get(https + path)
		if err != nil {
			t.Fatalf("GET %s%s: %v", https, path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, strings.TrimSpace(string(body))
	}

	must(t, deploy("2026-01-01T00:00:00Z"), "blue-green deploy over HTTPS")
	if code, _, v := get("/version"); code != http.StatusOK || !strings.Contains(v, "0.0.0-20260101000000-01234567") {
		t.Fatalf("GET /version over HTTPS: %d %q", code, v)
	}

	details := on("2026-01-02T00:00:00Z", "details")
	must(t, details, "details")
	for _, want := range []string{"blue-green", "0.0.0-20260101000000-01234567", "running"} {
		if !strings.Contains(details.out, want) {
			t.Errorf("details lacks %q:\n%s", want, details.out)
		}
	}
	logs := on("2026-01-02T00:00:00Z", "logs", "--tail=20")
	must(t, logs, "logs")
	if !strings.Contains(logs.out, srv.addr) {
		t.Errorf("logs do not name the host %s:\n%s", srv.addr, logs.out)
	}
	// --follow shows the lines while it reads (the function's stderr, in
	// the CLI's progress output) and returns them: each line twice.
	follow := on("2026-01-02T00:00:00Z", "logs", "--tail=1", "--follow", "--follow-for=3s")
	must(t, follow, "logs --follow")
	if n := strings.Count(follow.out, srv.addr+" | "); n < 2 {
		t.Errorf("logs --follow printed %d lines naming the host, want its one line (--tail=1) shown live and returned:\n%s", n, tail(follow.out, 3000))
	}
	// `health` in a one-off container probes its own loopback, where
	// nothing listens: a non-zero exit, reported with its code.
	mustFail(t, on("2026-01-02T00:00:00Z", "exec", "--cmd=health", "--timeout=1m"), "exec of a failing command", "exit")

	must(t, on("2026-01-03T00:00:00Z", "maintenance", "on", "--message=back at noon", "--retry-after=10m"), "maintenance on")
	code, header, page := get("/version")
	if code != http.StatusServiceUnavailable || header.Get("Retry-After") != "600" || !strings.Contains(page, "back at noon") {
		t.Fatalf("in maintenance: %d, Retry-After %q, page %q", code, header.Get("Retry-After"), page)
	}
	status := on("2026-01-03T00:00:00Z", "status")
	must(t, status, "status in maintenance")
	if !strings.Contains(strings.ToUpper(status.out), "MAINTENANCE") {
		t.Errorf("status does not show maintenance:\n%s", status.out)
	}
	must(t, on("2026-01-03T00:00:00Z", "maintenance", "off"), "maintenance off")
	if code, _, v := get("/version"); code != http.StatusOK || !strings.Contains(v, "0.0.0-20260101000000-01234567") {
		t.Fatalf("after maintenance off: %d %q", code, v)
	}

	// A migration that fails stops the deploy before the switch.
	p := testworld.StartProber(https+"/healthz", testworld.ProbeTLS(trusting))
	mustFail(t, deploy("2026-02-01T00:00:00Z", "with-migration", "--command=health", "--timeout=1m", "with-timeouts", "--lock-wait=30s"), "a deploy whose migration fails", "migrat")
	p.Finish(t, "probes across a deploy whose migration failed", 50)
	if _, _, v := get("/version"); !strings.Contains(v, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after the failed migration = %q, want the first release still serving", v)
	}
	must(t, deploy("2026-03-01T00:00:00Z", "with-timeouts", "--lock-wait=30s", "--pull=5m"), "a deploy with with-timeouts --lock-wait and --pull")
	if _, _, v := get("/version"); !strings.Contains(v, "0.0.0-20260301000000-01234567") {
		t.Fatalf("/version after the last deploy = %q", v)
	}
}
