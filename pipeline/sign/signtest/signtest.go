// Package signtest is the test world of signing: registries with and
// without the referrers API, images pushed to them, keys, and a passing
// ci's evidence. Tests of pipeline/sign, pipeline/policy and the e2e
// suite share it.
package signtest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// World is a registry of the test world and goship's options to reach it.
type World struct {
	// Kind names the registry (one of the Kind constants).
	Kind               string
	Host               string
	Username, Password string
	// CAPEM is the CA of the registry's TLS certificate, CAFile the same
	// on disk.
	CAPEM  []byte
	CAFile string
	// Opts reach the registry with goship's registry package.
	Opts []registry.Option
}

// Registries the tests run against.
const (
	// Debian's docker-registry (distribution 2.8): no referrers API, so
	// bundles go under the referrers tag.
	KindRegistry2 = "registry2"
	// go-containerregistry's registry with its referrers API on (in this
	// process): bundles are listed by the API.
	KindReferrersAPI = "referrers-api"
	// A registry that refuses OCI 1.1 artifact manifests as ACR Personal
	// Edition does (DENIED, "unknown manifest class"), and has no
	// referrers API.
	KindACR = "acr-like"
)

// NewWorld starts a registry of kind for the test.
func NewWorld(t testing.TB, kind string) *World {
	t.Helper()
	switch kind {
	case KindRegistry2:
		reg := testworld.StartRegistry(t, testworld.WithTLS())
		return newWorldAt(t, kind, reg.Host, reg.Username, reg.Password, reg.CAPEM)
	case KindReferrersAPI:
		return serveRegistry(t, kind, ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	case KindACR:
		return serveRegistry(t, kind, refuseArtifacts(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))))
	}
	t.Fatalf("no registry kind %q", kind)
	return nil
}

// FromRegistry is the world of a registry:2 a test already started (the
// e2e suite's, which the engine's containers reach).
func FromRegistry(t testing.TB, reg *testworld.Registry) *World {
	t.Helper()
	return newWorldAt(t, KindRegistry2, reg.Host, reg.Username, reg.Password, reg.CAPEM)
}

func newWorldAt(t testing.TB, kind, host, user, password string, caPEM []byte) *World {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	trust := registry.Trust{CAPEM: caPEM}
	if err := trust.Validate(); err != nil {
		t.Fatal(err)
	}
	opts := []registry.Option{registry.WithTrust(trust)}
	if user != "" {
		opts = append(opts, registry.WithCredentials(registry.Credentials{Username: user, Password: password}))
	}
	return &World{Kind: kind, Host: host, Username: user, Password: password, CAPEM: caPEM, CAFile: caFile, Opts: opts}
}

// serveRegistry serves h over TLS with a certificate of a fresh test CA.
func serveRegistry(t testing.TB, kind string, h http.Handler) *World {
	t.Helper()
	ca := testworld.NewCA(t)
	certPEM, keyPEM := ca.ServerCert(t, "127.0.0.1")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return newWorldAt(t, kind, srv.Listener.Addr().String(), "", "", ca.CertPEM)
}

// refuseArtifacts answers a manifest PUT whose config is the OCI empty
// config as ACR Personal Edition does.
func refuseArtifacts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			var m struct {
				Config struct {
					MediaType string `json:"mediaType"`
				} `json:"config"`
			}
			if json.Unmarshal(body, &m) == nil && m.Config.MediaType == "application/vnd.oci.empty.v1+json" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"unknown manifest class","detail":null}]}`))
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		next.ServeHTTP(w, r)
	})
}

// RemoteOptions reach the registry directly with go-containerregistry, as
// an attacker who can push would.
func (w *World) RemoteOptions() []remote.Option {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.CAPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	auth := authn.Anonymous
	if w.Username != "" {
		auth = &authn.Basic{Username: w.Username, Password: w.Password}
	}
	return []remote.Option{remote.WithAuth(auth), remote.WithTransport(tr)}
}

// Pushed is an image in the registry and its platforms' digests.
type Pushed struct {
	Ref name.Digest
	// Platforms maps os/arch to the platform's manifest digest.
	Platforms map[string]string
}

// PushImage pushes a random single-platform image for linux/amd64.
func (w *World) PushImage(t testing.TB, repoAndTag string) Pushed {
	t.Helper()
	img := platformImage(t, "amd64")
	ref := w.put(t, repoAndTag, img)
	return Pushed{Ref: ref, Platforms: map[string]string{"linux/amd64": ref.DigestStr()}}
}

// PushIndex pushes a random index of linux/amd64 and linux/arm64 images.
func (w *World) PushIndex(t testing.TB, repoAndTag string) Pushed {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	plats := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		img := platformImage(t, arch)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		plats["linux/"+arch] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	ref, err := name.ParseReference(w.Host + "/" + repoAndTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, w.RemoteOptions()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return Pushed{Ref: ref.Context().Digest(d.String()), Platforms: plats}
}

func platformImage(t testing.TB, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func (w *World) put(t testing.TB, repoAndTag string, img v1.Image) name.Digest {
	t.Helper()
	ref, err := name.ParseReference(w.Host + "/" + repoAndTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, w.RemoteOptions()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// NewKey makes an ECDSA P-256 key.
func NewKey(t testing.TB) *sign.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadKey(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// trivyReport is a Trivy JSON report with one LOW finding.
const trivyReport = `{"SchemaVersion":2,"ArtifactName":"/app","Results":[{"Target":"app","Class":"lang-pkgs","Type":"gobinary",
"Vulnerabilities":[{"VulnerabilityID":"CVE-2026-0002","PkgName":"golang.org/x/text","InstalledVersion":"v0.1.0","FixedVersion":"v0.2.0","Severity":"LOW","Title":"below the gate"}]}]}`

// sbom is a small CycloneDX 1.5 document.
const sbom = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"golang.org/x/text","version":"v0.1.0","purl":"pkg:golang/golang.org/x/text@v0.1.0"}]}`

const goSum = `golang.org/x/text v0.1.0 h1:2tKNM2VYlSkuQ1r7KJmmRHCh17aRUkEl62bKz/M/bg4=
golang.org/x/text v0.1.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=
`

// Run is the ci run of Evidence.
var Run = sign.Run{
	Repository:    "https://github.com/acme/hello",
	Commit:        "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00",
	Ref:           "refs/heads/main",
	GoshipVersion: "v0.9.0",
	BuilderID:     "https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main",
	InvocationID:  "https://github.com/acme/hello/actions/runs/42",
	GoVersion:     "go1.26.8",
	Images: []sign.Image{
		{Role: "golang", Ref: "docker.io/library/golang@sha256:" + strings.Repeat("1", 64)},
		{Role: "trivy", Ref: "docker.io/aquasec/trivy@sha256:" + strings.Repeat("2", 64)},
	},
}

// Evidence is a passing ci run for p, finished at finished.
func Evidence(t testing.TB, p Pushed, finished time.Time) sign.Evidence {
	t.Helper()
	run := Run
	mods, err := sign.ParseGoSum([]byte(goSum))
	if err != nil {
		t.Fatal(err)
	}
	run.Modules = mods
	run.StartedOn, run.FinishedOn = finished.Add(-5*time.Minute), finished
	ev := sign.Evidence{Run: run, Steps: []sign.StepResult{
		{Step: sign.StepLint, Passed: true, Summary: "0 issues"},
		{Step: sign.StepTest, Passed: true, Summary: "12 tests, race"},
	}}
	for plat, d := range p.Platforms {
		ev.Steps = append(ev.Steps,
			sign.StepResult{Step: sign.StepBuild, Platform: plat, Passed: true},
			sign.StepResult{Step: sign.StepScan, Platform: plat, Passed: true, Summary: "0 blocking at HIGH/CRITICAL (LOW 1)"})
		ev.Scans = append(ev.Scans, sign.Scan{Platform: plat, Digest: d, SBOM: []byte(sbom), Report: []byte(trivyReport),
			ScannerVersion: "v0.69.3", DBVersion: "2026-12-01T00:00:00Z", StartedOn: finished.Add(-time.Minute), FinishedOn: finished})
	}
	return ev
}

// SignNow signs p with k after a passing ci that finished a minute ago.
func (w *World) SignNow(ctx context.Context, t testing.TB, p Pushed, k *sign.Key) *sign.Signed {
	t.Helper()
	s, err := sign.Sign(ctx, p.Ref.String(), k, Evidence(t, p, time.Now().Add(-time.Minute)), sign.Options{Registry: w.Opts})
	if err != nil {
		t.Fatalf("Sign %s: %v", p.Ref, err)
	}
	return s
}

// AllPredicates are the types goship attests.
var AllPredicates = []string{sign.ProvenancePredicateType, sign.CycloneDXPredicateType, sign.VulnPredicateType}

// VerifyOpts trust keys, require AllPredicates and a gate at most a day
// old.
func (w *World) VerifyOpts(keys ...*sign.Key) sign.VerifyOptions {
	o := sign.VerifyOptions{Require: AllPredicates, MaxAge: 24 * time.Hour, Registry: w.Opts}
	for _, k := range keys {
		o.Keys = append(o.Keys, k.PublicKey())
	}
	return o
}

// Cosign is one of the pinned cosign CLIs (scripts/tools.sh builds
// both), run offline against a World: its CA through SSL_CERT_FILE, its
// credentials in a docker config of its own, a home and TUF root in a
// temp dir, and every request that is not to the registry sent to a
// proxy that does not exist, so none leaves the machine.
type Cosign struct {
	// Name is the binary: cosign (v2.6.5) or cosign3 (v3.1.3).
	Name string
	// Major is 2 or 3.
	Major int
	// Dir is the working directory, where generate-key-pair writes keys.
	Dir string
	bin string
	env []string
	// trustedRoot is an empty Sigstore trusted root: key-based checks need
	// none of its logs or CAs, and offline there are none to fetch.
	trustedRoot string
	// signingConfig names no services (v3 signs offline with it).
	signingConfig string
}

// Cosigns are the cosign CLIs of the interop matrix.
var Cosigns = []struct {
	Name  string
	Major int
}{{"cosign", 2}, {"cosign3", 3}}

// FindTool finds a pinned tool on PATH or in scripts/tools.sh's cache;
// "" if it is not built.
func FindTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	cached := filepath.Join(home, ".cache", "goship-tools", "bin", name)
	if _, err := os.Stat(cached); err == nil {
		return cached
	}
	return ""
}

// NewCosign prepares cosign binary name (major version major) for w;
// it skips the test, saying why, when the binary is not built.
func NewCosign(t testing.TB, w *World, name string, major int, password string) *Cosign {
	t.Helper()
	bin := FindTool(name)
	if bin == "" {
		t.Skipf("%s (cosign v%d) not found on PATH or in ~/.cache/goship-tools/bin: run scripts/tools.sh, which builds it", name, major)
	}
	dir := t.TempDir()
	auths := map[string]any{}
	if w.Username != "" {
		auths[w.Host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(w.Username + ":" + w.Password))}
	}
	cfg, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"docker", "home", "tuf"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(filepath.Join("docker", "config.json"), string(cfg))
	c := &Cosign{Name: name, Major: major, Dir: dir, bin: bin,
		trustedRoot: write("trusted_root.json", `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`),
		// What cosign signing-config create writes with no services.
		signingConfig: write("signing_config.json", `{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.2+json", "rekorTlogConfig":{}, "tsaConfig":{}}`),
		env: []string{
			"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=" + w.Host,
			"DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
			"SSL_CERT_FILE=" + w.CAFile,
			"HOME=" + filepath.Join(dir, "home"),
			"TUF_ROOT=" + filepath.Join(dir, "tuf"),
			"COSIGN_PASSWORD=" + password,
		}}
	return c
}

// VerifyFlags are the flags of a key-based, offline verification with
// this cosign: no transparency log (goship writes no entry); for v2.6.5 a
// trusted root too, without which it reads no bundle (offline, an empty
// one serves a key; online it would fetch Sigstore's).
func (c *Cosign) VerifyFlags(pub string) []string {
	f := []string{"--key", pub, "--insecure-ignore-tlog=true"}
	if c.Major == 2 {
		f = append(f, "--trusted-root", c.trustedRoot)
	}
	return f
}

// SignFlags are the flags of a key-based, offline signature or
// attestation with this cosign: v2 writes its legacy tags with no
// transparency log; v3 writes a bundle, with a signing config that names
// no services (--tlog-upload=false is refused in v3).
func (c *Cosign) SignFlags(key string) []string {
	if c.Major == 2 {
		return []string{"--key", key, "--tlog-upload=false", "--yes"}
	}
	return []string{"--key", key, "--signing-config", c.signingConfig, "--yes"}
}

// Run runs cosign in Dir and returns its stdout, stderr and error.
func (c *Cosign) Run(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("$ %s %s\n%s", c.Name, strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	return stdout.String(), stderr.String(), err
}

// MustRun runs cosign and fails the test if it fails.
func (c *Cosign) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, _, err := c.Run(t, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Name, strings.Join(args, " "), err)
	}
	return out
}

// KeyPair has cosign generate an encrypted key pair named prefix in Dir
// and loads the private half; it returns the key and the public key's
// path.
func (c *Cosign) KeyPair(t testing.TB, prefix, password string) (*sign.Key, string) {
	t.Helper()
	c.MustRun(t, "generate-key-pair", "--output-key-prefix", prefix)
	b, err := os.ReadFile(filepath.Join(c.Dir, prefix+".key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadKey(b, []byte(password))
	if err != nil {
		t.Fatalf("LoadKey of %s's key: %v", c.Name, err)
	}
	return k, filepath.Join(c.Dir, prefix+".pub")
}
