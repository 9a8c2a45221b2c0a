package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// selfSigned is a certificate for names valid from notBefore to
// notAfter, and its key, as PEM.
func selfSigned(t *testing.T, notBefore, notAfter time.Time, isCA bool, names ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notAfter, IsCA: isCA, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func TestParseTLSRefusesBadInputBeforeAnythingConnects(t *testing.T) {
	now := time.Now()
	ca := testworld.NewCA(t)
	cert, key := ca.ServerCert(t, "app.example.com")
	_, otherKey := ca.ServerCert(t, "app.example.com")
	expired, expiredKey := selfSigned(t, now.Add(-48*time.Hour), now.Add(-time.Hour), false, "old.example.com")
	future, futureKey := selfSigned(t, now.Add(time.Hour), now.Add(48*time.Hour), false, "new.example.com")
	caCert, caKey := selfSigned(t, now.Add(-time.Hour), now.Add(time.Hour), true, "ca.example.com")
	tests := []struct {
		name      string
		cert, key []byte
		redirect  int
		wantErr   string
	}{
		{"certificate without key", cert, nil, 80, "--tls-cert needs --tls-key"},
		{"key without certificate", nil, key, 80, "--tls-key needs --tls-cert"},
		{"neither", nil, nil, 80, "no certificate"},
		{"key of another certificate", cert, otherKey, 80, "private key does not match public key"},
		{"not PEM", []byte("hello"), key, 80, "--tls-cert and --tls-key"},
		{"expired", expired, expiredKey, 80, "for old.example.com expired on"},
		{"not yet valid", future, futureKey, 80, "is not valid before"},
		{"a CA certificate", caCert, caKey, 80, "is a CA certificate"},
		{"redirect port out of range", cert, key, 70000, "--tls-redirect-from 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTLS(tt.cert, tt.key, tt.redirect, now)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseTLS error = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
	// A chain after the leaf and a trailing newline (file:// secrets keep it) are fine.
	got, err := ParseTLS(append(append(cert, ca.CertPEM...), '\n'), key, 80, now)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Names(); len(n) != 1 || n[0] != "app.example.com" {
		t.Fatalf("names = %v", n)
	}
	r := got.route("hello")
	if !strings.HasPrefix(r.Cert, "hello-") || !strings.HasSuffix(r.Cert, ".crt") || strings.TrimSuffix(r.Cert, ".crt") != strings.TrimSuffix(r.Key, ".key") || len(r.SHA256) != 64 || r.RedirectFrom != 80 {
		t.Fatalf("route TLS = %+v", r)
	}
	// Another certificate gets other file names, so the config changes.
	cert2, key2 := ca.ServerCert(t, "app.example.com")
	other, err := ParseTLS(cert2, key2, 80, now)
	if err != nil {
		t.Fatal(err)
	}
	if other.route("hello").Cert == r.Cert {
		t.Fatal("two certificates share a file name")
	}
}

func TestTLSConflicts(t *testing.T) {
	https := func(redirect int) *RouteTLS { return &RouteTLS{Cert: "x.crt", Key: "x.key", RedirectFrom: redirect} }
	existing := []Route{
		{App: "a", Port: 443, Host: "a.example.com", TLS: https(80)},
		{App: "b", Port: 8080},
		{App: "c", Port: 8443, TLS: https(0)},
	}
	tests := []struct {
		r       Route
		wantErr string
	}{
		{Route{App: "d", Port: 443, Host: "d.example.com", TLS: https(80)}, ""},
		{Route{App: "a", Port: 443, Host: "a.example.com", TLS: https(80)}, ""}, // a redeploys
		{Route{App: "d", Port: 9443, TLS: https(0)}, ""},
		{Route{App: "d", Port: 443, Host: "d.example.com"}, "serves HTTPS for app a: give d a certificate"},
		{Route{App: "d", Port: 8080, Host: "d.example.com", TLS: https(0)}, "serves plain HTTP for app b"},
		{Route{App: "d", Port: 443, Host: "d.example.com", TLS: https(0)}, "redirects HTTP from port 80 for app a; d asks for no port"},
		{Route{App: "d", Port: 80}, "proxy port 80 redirects to HTTPS on port 443 for app a"},
		{Route{App: "d", Port: 9443, TLS: https(8080)}, "port 8080, which would redirect to HTTPS, serves app b"},
		{Route{App: "d", Port: 9443, TLS: https(80)}, "port 80 already redirects to HTTPS on port 443 for app a"},
		{Route{App: "d", Port: 9443, TLS: https(9443)}, "is the HTTPS port itself"},
	}
	for _, tt := range tests {
		err := Conflict(existing, tt.r)
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Conflict(%s on %d) = %v, want %q", tt.r.App, tt.r.Port, err, tt.wantErr)
		}
	}
	// A switch without a certificate keeps the app's; with one, uses it.
	p := &Proxy{}
	if r := p.withTLS(existing, Route{App: "a", Port: 443}); r.TLS == nil || r.TLS.RedirectFrom != 80 {
		t.Fatalf("a redeploy without a certificate dropped HTTPS: %+v", r.TLS)
	}
	if r := p.withTLS(existing, Route{App: "b", Port: 8080}); r.TLS != nil {
		t.Fatalf("b never had HTTPS: %+v", r.TLS)
	}
}

func TestCaddyConfigServesHTTPSAndRedirects(t *testing.T) {
	routes := []Route{
		{App: "a", Port: 443, Host: "a.example.com", Upstreams: []string{"goship-a-blue:8080"}, TLS: &RouteTLS{Cert: "a-1.crt", Key: "a-1.key", RedirectFrom: 80}},
		{App: "z", Port: 443, Upstreams: []string{"goship-z-blue:8080"}, TLS: &RouteTLS{Cert: "z-1.crt", Key: "z-1.key", RedirectFrom: 80}},
		{App: "p", Port: 8080, Upstreams: []string{"goship-p-blue:8080"}},
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen    []string
					Protocols []string
					Policies  []struct {
						Match     map[string][]string
						Selection struct {
							AnyTag []string `json:"any_tag"`
						} `json:"certificate_selection"`
					} `json:"tls_connection_policies"`
					Routes []struct {
						Handle []map[string]any
					}
				}
			} `json:"http"`
			TLS struct {
				Certificates struct {
					LoadFiles []struct {
						Certificate, Key string
						Tags             []string
					} `json:"load_files"`
				}
				DisableStorageClean bool `json:"disable_storage_clean"`
			} `json:"tls"`
		}
	}
	data, err := caddyConfig(443, routes, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	srv := cfg.Apps.HTTP.Servers["goship"]
	if len(srv.Policies) != 2 || srv.Policies[0].Match["sni"][0] != "a.example.com" || srv.Policies[0].Selection.AnyTag[0] != "goship-a" ||
		srv.Policies[1].Match != nil || srv.Policies[1].Selection.AnyTag[0] != "goship-z" {
		t.Fatalf("want a's SNI policy, then the catch-all z's:\n%s", data)
	}
	if strings.Join(srv.Protocols, ",") != "h1,h2" {
		t.Fatalf("HTTP/3 needs UDP, which docker does not publish: %v", srv.Protocols)
	}
	files := cfg.Apps.TLS.Certificates.LoadFiles
	if len(files) != 2 || files[0].Certificate != "/etc/goship/tls/a-1.crt" || files[0].Key != "/etc/goship/tls/a-1.key" || files[0].Tags[0] != "goship-a" || !cfg.Apps.TLS.DisableStorageClean {
		t.Fatalf("certificates:\n%s", data)
	}
	redirect := cfg.Apps.HTTP.Servers["redirect"]
	if len(redirect.Listen) != 1 || redirect.Listen[0] != ":80" || !strings.Contains(string(data), `"https://{http.request.host}{http.request.uri}"`) {
		t.Fatalf("redirect server:\n%s", data)
	}
	// On another port the redirect names it; a plain port has no TLS at all.
	routes[0].Port, routes[1].Port = 8443, 8443
	data, _ = caddyConfig(8443, routes, time.Second)
	if !strings.Contains(string(data), `"https://{http.request.host}:8443{http.request.uri}"`) {
		t.Fatalf("redirect to 8443:\n%s", data)
	}
	data, _ = caddyConfig(8080, routes, time.Second)
	if strings.Contains(string(data), "tls") || strings.Contains(string(data), "redirect") {
		t.Fatalf("plain port 8080:\n%s", data)
	}
}

func TestProxyComposePublishesTheRedirectPortOfAnHTTPSPort(t *testing.T) {
	rec := Record{Name: "goship-proxy", Image: "caddy:2", Drain: time.Second}
	routes := []Route{
		{App: "a", Port: 443, Bind: "127.0.0.1", TLS: &RouteTLS{RedirectFrom: 80}},
		{App: "b", Port: 9000},
	}
	if _, err := proxyCompose(rec, routes, ""); err == nil {
		t.Fatal("an HTTPS port without the key's owner")
	}
	out, err := proxyCompose(rec, routes, "1001:1001")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Ports  []string
			User   string
			Labels map[string]string
		}
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	a, b := doc.Services["p443"], doc.Services["p9000"]
	if strings.Join(a.Ports, " ") != "127.0.0.1:443:443 127.0.0.1:80:80" || a.User != "1001:1001" || a.Labels[shapeLabel] != "https+80" {
		t.Fatalf("HTTPS service:\n%s", out)
	}
	if b.User != "" || len(b.Labels) != 1 || len(b.Ports) != 1 {
		t.Fatalf("a plain service must stay as it was (or its Caddy is created again):\n%s", out)
	}
}

func TestMaintenancePage(t *testing.T) {
	m, err := NewMaintenance("  Back at <b>14:00</b> & later\n", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	page := string(m.Page)
	if !strings.Contains(page, "Back at &lt;b&gt;14:00&lt;/b&gt; &amp; later</p>") || !strings.HasPrefix(page, "<!doctype html>") || m.RetryAfter != 5*time.Minute {
		t.Fatalf("page:\n%s", page)
	}
	if m, _ := NewMaintenance("", time.Minute); !strings.Contains(string(m.Page), DefaultMaintenanceMessage) {
		t.Fatal("no default message")
	}
	for _, bad := range []struct {
		msg   string
		retry time.Duration
		want  string
	}{
		{strings.Repeat("x", maxMessage+1), time.Minute, "at most"},
		{"ok", 0, "--retry-after"},
		{"ok", 8 * 24 * time.Hour, "--retry-after"},
		{"\xff", time.Minute, "UTF-8"},
	} {
		if _, err := NewMaintenance(bad.msg, bad.retry); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("NewMaintenance(%.10q, %s) = %v, want %q", bad.msg, bad.retry, err, bad.want)
		}
	}
}
