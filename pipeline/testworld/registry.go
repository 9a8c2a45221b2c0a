package testworld

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// Registry is a running distribution v2 registry.
type Registry struct {
	Host     string // ListenHost():port
	Username string // empty for an anonymous registry
	Password string
	// CAPEM is the CA that signed the registry's certificate (TLS only).
	CAPEM []byte
	// CAFile is CAPEM on disk, for flags and docker's certs.d.
	CAFile string
}

// RegistryOption configures StartRegistry.
type RegistryOption func(*registryConfig)

type registryConfig struct {
	tls       bool
	anonymous bool
}

// WithTLS serves HTTPS with a certificate from a CA the test world makes,
// as a private registry (Harbor, ACR Enterprise behind a company CA) does.
func WithTLS() RegistryOption { return func(c *registryConfig) { c.tls = true } }

// Anonymous serves without authentication (e.g. a public mirror).
func Anonymous() RegistryOption { return func(c *registryConfig) { c.anonymous = true } }

// StartRegistry runs Debian's docker-registry on a free port of ListenHost
// with one htpasswd user (unless Anonymous) and storage in a temp dir.
func StartRegistry(t testing.TB, opts ...RegistryOption) *Registry {
	t.Helper()
	var cfg registryConfig
	for _, o := range opts {
		o(&cfg)
	}
	bin := need(t, "docker-registry", "docker-registry")
	dir := Dir(t, "registry")
	r := &Registry{Host: net.JoinHostPort(ListenHost(), strconv.Itoa(FreePort(t)))}
	// What a deploy pulled from it into the local dockerd goes with it
	// (registered first, so it runs after the tests' container cleanups).
	RemoveImagesOnCleanup(t, r.Host)
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
`, filepath.Join(dir, "data"), r.Host)
	if cfg.tls {
		ca := NewCA(t)
		r.CAPEM = ca.CertPEM
		r.CAFile = filepath.Join(dir, "ca.pem")
		writeFile(t, r.CAFile, ca.CertPEM, 0o644)
		certPEM, keyPEM := ca.ServerCert(t, ListenHost(), "localhost")
		writeFile(t, filepath.Join(dir, "tls.crt"), certPEM, 0o644)
		writeFile(t, filepath.Join(dir, "tls.key"), keyPEM, 0o600)
		config += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	}
	if !cfg.anonymous {
		r.Username, r.Password = "goship", "s3cret-"+randomToken(t, 12)
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		writeFile(t, htpasswd, []byte(r.Username+":"+string(hash)+"\n"), 0o600)
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: goship-test\n    path: %s\n", htpasswd)
	}
	cfgPath := filepath.Join(dir, "config.yml")
	writeFile(t, cfgPath, []byte(config), 0o600)
	startDaemon(t, "docker-registry", filepath.Join(dir, "registry.log"), exec.Command(bin, "serve", cfgPath))
	r.wait(t)
	return r
}

// URL is the registry's base URL.
func (r *Registry) URL() string {
	if r.CAPEM != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// HTTPClient trusts the registry's CA.
func (r *Registry) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.CAPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(r.CAPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// wait waits for the /v2/ endpoint to answer: 401 with auth, 200 without.
func (r *Registry) wait(t testing.TB) {
	t.Helper()
	WaitTCP(t, r.Host, 10*time.Second)
	want := http.StatusUnauthorized
	if r.Username == "" {
		want = http.StatusOK
	}
	client := r.HTTPClient()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testworld: registry on %s never answered %d on /v2/ (err %v)", r.Host, want, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TrustForDocker makes the local dockerd trust the registry's CA (its
// certs.d directory for this host), until the test ends, as a server
// that pulls from a private registry is set up.
func (r *Registry) TrustForDocker(t testing.TB) {
	t.Helper()
	if r.CAPEM == nil {
		return
	}
	dir := filepath.Join("/etc/docker/certs.d", r.Host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ca.crt"), r.CAPEM, 0o644)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
}

// RemoteOptions authenticate go-containerregistry calls to r and trust
// its CA.
func (r *Registry) RemoteOptions() []remote.Option {
	return []remote.Option{remote.WithAuth(r.Auth()), remote.WithTransport(r.HTTPClient().Transport)}
}
