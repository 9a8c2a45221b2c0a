package compose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/testworld"
)

func TestHTTPSAtTheProxyRedirectsAndSwitchesWithoutDroppingARequest(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "tls")
	httpPort := testworld.FreePort(t)
	ctx := context.Background()
	ca := testworld.NewCA(t)
	certPEM, keyPEM := ca.ServerCert(t, "app.test")
	cert, err := proxy.ParseTLS(certPEM, keyPEM, httpPort, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	trusting := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "app.test", MinVersion: tls.VersionTLS12}
	trusting.RootCAs.AppendCertsFromPEM(ca.CertPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: trusting, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	https := fmt.Sprintf("https://127.0.0.1:%d", port)

	spec := w.bgSpec(app, port, "v1")
	spec.Proxy.TLS = cert
	if _, err := Deploy(ctx, c, spec); err != nil {
		t.Fatalf("deploy v1 with a certificate: %v", err)
	}
	if a := ask(t, client, http.MethodGet, https+"/version"); a.status != http.StatusOK || strings.TrimSpace(a.body) != "v1" {
		t.Fatalf("v1 over HTTPS: %d %q", a.status, a.body)
	}
	// A client that does not trust the test world's CA is refused: it is
	// the certificate given that is served.
	if _, err := http.Get(https + "/version"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client without the CA: %v", err)
	}
	a := ask(t, client, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/version?x=1", httpPort))
	if want := fmt.Sprintf("https://127.0.0.1:%d/version?x=1", port); a.status != http.StatusPermanentRedirect || a.header.Get("Location") != want {
		t.Fatalf("plain HTTP: %d Location %q, want 308 to %s", a.status, a.header.Get("Location"), want)
	}

	// The key is 0600 in the proxy's directory, and nowhere in the logs.
	keys, _ := filepath.Glob(filepath.Join(w.proxy.Root, "ports", fmt.Sprint(port), "tls", app+"-*.key"))
	if len(keys) != 1 {
		t.Fatalf("key files: %v", keys)
	}
	if fi, err := os.Stat(keys[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v %v, want 0600", keys[0], fi.Mode(), err)
	}
	keyBody := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")[1]
	for _, f := range []string{filepath.Join(w.srv.AppRoot, app, "deploys.log"), filepath.Join(w.proxy.Root, "routes", app+".json")} {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), keyBody) {
			t.Fatalf("%s holds the key", f)
		}
	}
	for _, id := range strings.Fields(w.docker.Run(t, nil, "ps", "-aq", "--filter", "label=com.docker.compose.project="+w.proxy.Name)) {
		logs, _ := testworld.Run(ctx, nil, nil, "sh", "-c", "docker logs "+id+" 2>&1; docker inspect "+id)
		if strings.Contains(logs, keyBody) {
			t.Fatalf("proxy container %s shows the key", id)
		}
	}

	// A blue-green switch over HTTPS drops nothing and reloads nothing; a
	// deploy without the certificate keeps the app's.
	loads := w.proxyReloads(t)
	p := testworld.StartProber(https+"/healthz", testworld.ProbeTLS(trusting))
	if _, err := Deploy(ctx, c, w.bgSpec(app, port, "v2")); err != nil {
		t.Fatalf("deploy v2: %v", err)
	}
	p.Finish(t, "blue-green switch over HTTPS", 50)
	if a := ask(t, client, http.MethodGet, https+"/version"); a.status != http.StatusOK || strings.TrimSpace(a.body) != "v2" {
		t.Fatalf("v2 over HTTPS: %d %q", a.status, a.body)
	}
	if got := w.proxyReloads(t); got != loads {
		t.Fatalf("the switch reloaded Caddy %d times, want none", got-loads)
	}

	// A new certificate is served after the next deploy (a reload), and
	// the old files go.
	certPEM2, keyPEM2 := ca.ServerCert(t, "app.test")
	renewed, err := proxy.ParseTLS(certPEM2, keyPEM2, httpPort, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	spec = w.bgSpec(app, port, "v1")
	spec.Proxy.TLS = renewed
	if _, err := Deploy(ctx, c, spec); err != nil {
		t.Fatalf("deploy v1 with a renewed certificate: %v", err)
	}
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), trusting)
	if err != nil {
		t.Fatal(err)
	}
	served := conn.ConnectionState().PeerCertificates[0].Raw
	_ = conn.Close()
	if string(served) != string(leafDER(certPEM2)) {
		t.Fatal("the proxy still serves the old certificate")
	}
	if keys, _ = filepath.Glob(filepath.Join(w.proxy.Root, "ports", fmt.Sprint(port), "tls", app+"-*")); len(keys) != 2 {
		t.Fatalf("certificate files after a renewal: %v, want the new pair only", keys)
	}
}

// leafDER is the first certificate of a PEM file.
func leafDER(certPEM []byte) []byte {
	b, _ := pem.Decode(certPEM)
	return b.Bytes
}

// A certificate is a proxy setting: a recreate deploy refuses it before
// anything connects.
func TestACertificateNeedsBlueGreen(t *testing.T) {
	ca := testworld.NewCA(t)
	certPEM, keyPEM := ca.ServerCert(t, "app.test")
	cert, err := proxy.ParseTLS(certPEM, keyPEM, 80, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := Spec{App: "hello", Image: "registry.example/hello:v1", Transfer: host.Registry{}, Strategy: StrategyRecreate, Proxy: Proxy{TLS: cert}}
	if _, err := s.withDefaults(); err == nil || !strings.Contains(err.Error(), "need with-blue-green") {
		t.Fatalf("recreate with a certificate: %v", err)
	}
}
