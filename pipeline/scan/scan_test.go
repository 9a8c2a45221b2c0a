package scan_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/testworld"
)

const vulnLib = "example.com/vulnlib"

// fakeGitHubToken is shaped like a GitHub token, which Trivy's secret
// rules detect (AWS's documented example key is allowlisted by Trivy).
func fakeGitHubToken(t *testing.T) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 36)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "ghp_" + string(b)
}

func imageTarball(t *testing.T, bin []byte, extra ...image.File) string {
	t.Helper()
	spec := image.DefaultRuntimeSpec(8080)
	img, err := image.Assemble(spec, append([]image.File{{Path: "/app", Mode: 0o755, Content: bin}}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return testworld.WriteImageTarball(t, img, "goship.local/scanme:test")
}

// offlineVulnPolicy scans for vulnerabilities only, offline, against a
// fixture DB with one HIGH advisory, GOSHIP-2026-0001, for vulnLib <1.0.1.
func offlineVulnPolicy(t *testing.T) scan.Policy {
	t.Helper()
	cache := t.TempDir()
	testworld.TrivyDB(t, cache, "GOSHIP-2026-0001", vulnLib, "<1.0.1", "1.0.1")
	p := scan.DefaultPolicy()
	p.Scanners = []string{"vuln"}
	p.Offline = true
	p.CacheDir = cache
	return p
}

func run(t *testing.T, p scan.Policy, tarball string, allow scan.Allowlist) (*scan.Report, scan.Verdict, string) {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	report, verdict, err := scan.Run(ctx, testworld.Tool(t, "trivy"), p, scan.ImageTarball, tarball, out, allow)
	if err != nil {
		t.Fatal(err)
	}
	for format, f := range scan.Reports() {
		fi, err := os.Stat(filepath.Join(out, f))
		// The table of a clean scan is legitimately empty; the others never are.
		if err != nil || (fi.Size() == 0 && format != "table") {
			t.Fatalf("report %s missing or empty: %v", f, err)
		}
	}
	return report, verdict, out
}

func TestSecretScannerGate(t *testing.T) {
	bin := testworld.BuildHelloBinary(t, "v1")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	p := scan.DefaultPolicy()
	p.Scanners = []string{"secret"}
	p.Offline = true
	p.CacheDir = t.TempDir()

	_, clean, _ := run(t, p, imageTarball(t, b), nil)
	if !clean.Pass() {
		t.Fatalf("clean image failed the gate: %+v", clean.Blocking)
	}

	leaky := image.File{Path: "/etc/app/config.env", Mode: 0o644, Content: []byte("GITHUB_TOKEN=" + fakeGitHubToken(t) + "\n")}
	report, verdict, out := run(t, p, imageTarball(t, b, leaky), nil)
	if verdict.Pass() {
		t.Fatal("image with a planted token passed the gate")
	}
	f := verdict.Blocking[0]
	if f.Kind != "secret" || !strings.Contains(f.Package, "etc/app/config.env") {
		t.Fatalf("blocking finding = %+v", f)
	}
	if report.Findings()[0].Severity == "" {
		t.Fatal("parsed finding has no severity")
	}
	sarif, _ := os.ReadFile(filepath.Join(out, "trivy.sarif"))
	if !strings.Contains(string(sarif), "config.env") {
		t.Fatal("SARIF report does not name the leaky file")
	}
	if s := verdict.Summary("goship.local/scanme:test", 5); !strings.Contains(s, "FAILED (1 blocking)") {
		t.Fatalf("summary:\n%s", s)
	}
}

func TestVulnerabilityGateOffline(t *testing.T) {
	proxy := testworld.GoModuleProxy(t, vulnLib, "v1.0.0", "v1.0.1")
	p := offlineVulnPolicy(t)

	vulnerable := imageTarball(t, testworld.BinaryWithDependency(t, proxy, vulnLib, "v1.0.0"))
	_, verdict, out := run(t, p, vulnerable, nil)
	if verdict.Pass() || len(verdict.Blocking) != 1 {
		t.Fatalf("vulnerable image: blocking = %+v", verdict.Blocking)
	}
	f := verdict.Blocking[0]
	if f.ID != "GOSHIP-2026-0001" || f.Package != vulnLib || f.Severity != "HIGH" || f.Fixed != "1.0.1" {
		t.Fatalf("finding = %+v", f)
	}
	sbom, _ := os.ReadFile(filepath.Join(out, "sbom.cdx.json"))
	if !strings.Contains(string(sbom), vulnLib) {
		t.Fatal("CycloneDX SBOM does not list the dependency")
	}

	fixed := imageTarball(t, testworld.BinaryWithDependency(t, proxy, vulnLib, "v1.0.1"))
	if _, verdict, _ := run(t, p, fixed, nil); !verdict.Pass() {
		t.Fatalf("fixed image failed the gate: %+v", verdict.Blocking)
	}

	// .trivyignore suppresses it at the source …
	ignore := filepath.Join(t.TempDir(), ".trivyignore")
	if err := os.WriteFile(ignore, []byte("GOSHIP-2026-0001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	withIgnore := p
	withIgnore.IgnoreFile = ignore
	if _, verdict, _ := run(t, withIgnore, vulnerable, nil); !verdict.Pass() {
		t.Fatalf(".trivyignore did not suppress: %+v", verdict.Blocking)
	}

	// … and an allowlist entry accepts it until it expires.
	active, err := scan.ParseAllowlist([]byte("- id: GOSHIP-2026-0001\n  expires: 2999-01-01\n  reason: not reachable from our code\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, verdict, _ := run(t, p, vulnerable, active); !verdict.Pass() || len(verdict.Allowed) != 1 {
		t.Fatalf("active allowlist: blocking %+v allowed %+v", verdict.Blocking, verdict.Allowed)
	}
	expired, err := scan.ParseAllowlist([]byte("- id: GOSHIP-2026-0001\n  expires: 2020-01-01\n  reason: was accepted once\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, verdict, _ = run(t, p, vulnerable, expired)
	if verdict.Pass() || len(verdict.Expired) != 1 {
		t.Fatalf("expired allowlist entry still suppressed the finding: %+v", verdict)
	}
	if !strings.Contains(verdict.Summary("x", 5), "has expired") {
		t.Fatal("summary does not flag the expired entry")
	}
}
