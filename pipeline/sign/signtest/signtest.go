// Package signtest is the test world of signing: registries with and
// without the referrers API, images pushed to them, keys, and a passing
// ci's evidence. Tests of pipeline/sign, pipeline/policy and the e2e
// suite share it.
package signtest

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

// remoteOptions reach the registry directly with go-containerregistry, as
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

// pushed is an image in the registry and its platforms' digests.
type Pushed struct {
	Ref name.Digest
	// Platforms maps os/arch to the platform's manifest digest.
	Platforms map[string]string
}

// pushImage pushes a random single-platform image for linux/amd64.
func (w *World) PushImage(t testing.TB, repoAndTag string) Pushed {
	t.Helper()
	img := platformImage(t, "amd64")
	ref := w.put(t, repoAndTag, img)
	return Pushed{Ref: ref, Platforms: map[string]string{"linux/amd64": ref.DigestStr()}}
}

// pushIndex pushes a random index of linux/amd64 and linux/arm64 images.
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

// newKey makes an ECDSA P-256 key.
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

// evidence is a passing ci run for p, finished at finished.
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

// signNow signs p with k after a passing ci that finished a minute ago.
func (w *World) SignNow(ctx context.Context, t testing.TB, p Pushed, k *sign.Key) *sign.Signed {
	t.Helper()
	s, err := sign.Sign(ctx, p.Ref.String(), k, Evidence(t, p, time.Now().Add(-time.Minute)), sign.Options{Registry: w.Opts})
	if err != nil {
		t.Fatalf("Sign %s: %v", p.Ref, err)
	}
	return s
}

// allPredicates are the types goship attests.
var AllPredicates = []string{sign.ProvenancePredicateType, sign.CycloneDXPredicateType, sign.VulnPredicateType}

func (w *World) VerifyOpts(keys ...*sign.Key) sign.VerifyOptions {
	o := sign.VerifyOptions{Require: AllPredicates, MaxAge: 24 * time.Hour, Registry: w.Opts}
	for _, k := range keys {
		o.Keys = append(o.Keys, k.PublicKey())
	}
	return o
}
