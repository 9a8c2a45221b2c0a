package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
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

	"github.com/goship-dev/goship/internal/testworld"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// world is a registry of the test world and goship's options to reach it.
type world struct {
	// kind names the registry for test names and logs.
	kind               string
	host               string
	username, password string
	caPEM              []byte
	caFile             string
	opts               []registry.Option
}

// Registries the tests run against.
const (
	// Debian's docker-registry (distribution 2.8): no referrers API, so
	// bundles go under the referrers tag.
	kindRegistry2 = "registry2"
	// go-containerregistry's registry with its referrers API on (in this
	// process): bundles are listed by the API.
	kindReferrersAPI = "referrers-api"
	// A registry that refuses OCI 1.1 artifact manifests as ACR Personal
	// Edition does (DENIED, "unknown manifest class"), and has no
	// referrers API.
	kindACR = "acr-like"
)

func newWorld(t *testing.T, kind string) *world {
	t.Helper()
	switch kind {
	case kindRegistry2:
		reg := testworld.StartRegistry(t, testworld.WithTLS())
		return newWorldAt(t, kind, reg.Host, reg.Username, reg.Password, reg.CAPEM)
	case kindReferrersAPI:
		return serveRegistry(t, kind, ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	case kindACR:
		return serveRegistry(t, kind, refuseArtifacts(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))))
	}
	t.Fatalf("no registry kind %q", kind)
	return nil
}

func newWorldAt(t *testing.T, kind, host, user, password string, caPEM []byte) *world {
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
	return &world{kind: kind, host: host, username: user, password: password, caPEM: caPEM, caFile: caFile, opts: opts}
}

// serveRegistry serves h over TLS with a certificate of a fresh test CA.
func serveRegistry(t *testing.T, kind string, h http.Handler) *world {
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

// remoteOptions reach the registry directly with go-containerregistry, as
// an attacker who can push would.
func (w *world) remoteOptions() []remote.Option {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.caPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	auth := authn.Anonymous
	if w.username != "" {
		auth = &authn.Basic{Username: w.username, Password: w.password}
	}
	return []remote.Option{remote.WithAuth(auth), remote.WithTransport(tr)}
}

// pushed is an image in the registry and its platforms' digests.
type pushed struct {
	ref       name.Digest
	platforms map[string]string
}

// pushImage pushes a random single-platform image for linux/amd64.
func (w *world) pushImage(t *testing.T, repoAndTag string) pushed {
	t.Helper()
	img := platformImage(t, "amd64")
	ref := w.put(t, repoAndTag, img)
	return pushed{ref: ref, platforms: map[string]string{"linux/amd64": ref.DigestStr()}}
}

// pushIndex pushes a random index of linux/amd64 and linux/arm64 images.
func (w *world) pushIndex(t *testing.T, repoAndTag string) pushed {
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
	ref, err := name.ParseReference(w.host + "/" + repoAndTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, w.remoteOptions()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return pushed{ref: ref.Context().Digest(d.String()), platforms: plats}
}

func platformImage(t *testing.T, arch string) v1.Image {
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

func (w *world) put(t *testing.T, repoAndTag string, img v1.Image) name.Digest {
	t.Helper()
	ref, err := name.ParseReference(w.host + "/" + repoAndTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, w.remoteOptions()...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// newKey makes an ECDSA P-256 key.
func newKey(t *testing.T) *sign.Key {
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

var testRun = sign.Run{
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

// evidence is a passing ci run for p, finished at finished.
func evidence(t *testing.T, p pushed, finished time.Time) sign.Evidence {
	t.Helper()
	run := testRun
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
	for plat, d := range p.platforms {
		ev.Steps = append(ev.Steps,
			sign.StepResult{Step: sign.StepBuild, Platform: plat, Passed: true},
			sign.StepResult{Step: sign.StepScan, Platform: plat, Passed: true, Summary: "0 blocking at HIGH/CRITICAL (LOW 1)"})
		ev.Scans = append(ev.Scans, sign.Scan{Platform: plat, Digest: d, SBOM: []byte(sbom), Report: []byte(trivyReport),
			ScannerVersion: "v0.69.3", DBVersion: "2026-12-01T00:00:00Z", StartedOn: finished.Add(-time.Minute), FinishedOn: finished})
	}
	return ev
}

// signNow signs p with k after a passing ci that finished a minute ago.
func (w *world) signNow(ctx context.Context, t *testing.T, p pushed, k *sign.Key) *sign.Signed {
	t.Helper()
	s, err := sign.Sign(ctx, p.ref.String(), k, evidence(t, p, time.Now().Add(-time.Minute)), sign.Options{Registry: w.opts})
	if err != nil {
		t.Fatalf("Sign %s: %v", p.ref, err)
	}
	return s
}

// allPredicates are the types goship attests.
var allPredicates = []string{sign.ProvenancePredicateType, sign.CycloneDXPredicateType, sign.VulnPredicateType}

func (w *world) verifyOpts(keys ...*sign.Key) sign.VerifyOptions {
	o := sign.VerifyOptions{Require: allPredicates, MaxAge: 24 * time.Hour, Registry: w.opts}
	for _, k := range keys {
		o.Keys = append(o.Keys, k.PublicKey())
	}
	return o
}
