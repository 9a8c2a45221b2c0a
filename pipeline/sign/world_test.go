package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/goship-dev/goship/internal/testworld"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/sign"
)

// world is the test world's TLS registry with htpasswd, and goship's
// options to reach it.
type world struct {
	reg  *testworld.Registry
	opts []registry.Option
}

func newWorld(t *testing.T) *world {
	t.Helper()
	reg := testworld.StartRegistry(t, testworld.WithTLS())
	trust := registry.Trust{CAPEM: reg.CAPEM}
	if err := trust.Validate(); err != nil {
		t.Fatal(err)
	}
	return &world{reg: reg, opts: []registry.Option{
		registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: reg.Password}),
		registry.WithTrust(trust),
	}}
}

// push pushes a fresh random image and returns its digest reference.
func (w *world) push(t *testing.T, repoAndTag string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	return w.reg.Push(t, img, repoAndTag)
}

// newKey makes an ECDSA P-256 key as unencrypted PKCS#8 PEM.
func newKey(t *testing.T) ([]byte, *sign.Key) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	k, err := sign.LoadKey(keyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	return keyPEM, k
}

func publicPEM(t *testing.T, k *sign.Key) []byte {
	t.Helper()
	b, err := k.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trivyReport is a Trivy JSON report with one fixed HIGH vulnerability
// and one LOW, as `trivy rootfs --format json` writes it.
const trivyReport = `{"SchemaVersion":2,"ArtifactName":"/app","Results":[{"Target":"app","Class":"lang-pkgs","Type":"gobinary",
"Vulnerabilities":[
 {"VulnerabilityID":"CVE-2026-0001","PkgName":"golang.org/x/net","InstalledVersion":"v0.1.0","FixedVersion":"v0.2.0","Severity":"HIGH","Title":"a gated one"},
 {"VulnerabilityID":"CVE-2026-0002","PkgName":"golang.org/x/text","InstalledVersion":"v0.1.0","FixedVersion":"v0.2.0","Severity":"LOW","Title":"below the gate"}]}]}`

// sbom is a minimal CycloneDX document.
const sbom = `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"golang.org/x/net","version":"v0.1.0","purl":"pkg:golang/golang.org/x/net@v0.1.0"}]}`

var testRun = sign.Run{Commit: "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00", WorkflowRun: "https://github.com/acme/hello/actions/runs/42", GoshipVersion: "v0.9.0"}

// evidence is the SBOM, the Trivy report and the gate statement for
// report gated by policy (which passes or fails it).
func evidence(t *testing.T, policy scan.Policy, allow scan.Allowlist) []sign.Predicate {
	t.Helper()
	rep, err := scan.ParseReport([]byte(trivyReport))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	gate, err := sign.GatePredicate(sign.NewGate(testRun, scan.Gate(rep, policy, allow, now), policy, now))
	if err != nil {
		t.Fatal(err)
	}
	bom, err := sign.SBOMPredicate([]byte(sbom))
	if err != nil {
		t.Fatal(err)
	}
	vuln, err := sign.VulnPredicate(sign.VulnScan{Report: []byte(trivyReport), ScannerVersion: "v0.69.3", DBVersion: "2026-12-01T00:00:00Z", WorkflowRun: testRun.WorkflowRun, StartedOn: now.Add(-time.Minute), FinishedOn: now})
	if err != nil {
		t.Fatal(err)
	}
	return []sign.Predicate{bom, vuln, gate}
}

// passingPolicy gates on CRITICAL only, so the HIGH finding passes.
func passingPolicy() scan.Policy {
	p := scan.DefaultPolicy()
	p.Severities = []string{"CRITICAL"}
	return p
}

// publish signs ref and attests evidence, as the release step will.
func (w *world) publish(ctx context.Context, t *testing.T, ref name.Digest, k *sign.Key, preds []sign.Predicate) {
	t.Helper()
	if _, err := sign.Sign(ctx, ref.String(), k, map[string]string{"commit": testRun.Commit}, w.opts...); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if _, err := sign.Attest(ctx, ref.String(), k, preds, w.opts...); err != nil {
		t.Fatalf("Attest: %v", err)
	}
}
