package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// goship scans its own runtime images as a root filesystem instead of an
// image tarball (no tarball to write). For a Go binary image the two must
// find the same vulnerabilities and secrets.
func TestRootfsScanFindsWhatTheTarballScanFinds(t *testing.T) {
	proxy := testworld.GoModuleProxy(t, vulnLib, "v1.0.0")
	cache := t.TempDir()
	testworld.TrivyDB(t, cache, "GOSHIP-2026-0001", vulnLib, "<1.0.1", "1.0.1")
	p := scan.DefaultPolicy()
	p.Offline = true
	p.CacheDir = cache
	bin := testworld.BinaryWithDependency(t, proxy, vulnLib, "v1.0.0")
	token := []byte("GITHUB_TOKEN=" + fakeGitHubToken(t) + "\n")

	tarball := imageTarball(t, bin, image.File{Path: "/etc/app.env", Mode: 0o644, Content: token})
	rootfs := t.TempDir()
	writeTree(t, rootfs, map[string][]byte{"app": bin, "etc/app.env": token})

	fromTarball := findingIDs(t, p, scan.ImageTarball, tarball)
	fromRootfs := findingIDs(t, p, scan.Rootfs, rootfs)
	if len(fromTarball) < 2 {
		t.Fatalf("the tarball scan found %v; want the advisory and the token", fromTarball)
	}
	if !slices.Equal(fromTarball, fromRootfs) {
		t.Fatalf("rootfs scan found %v, tarball scan %v", fromRootfs, fromTarball)
	}
}

// Trivy downloads its DB from a mirror behind a private CA when the CA is
// in SSL_CERT_DIR, as the module sets it up from --registry-ca.
func TestDBFromMirrorBehindPrivateCA(t *testing.T) {
	reg := testworld.StartRegistry(t, testworld.WithTLS(), testworld.Anonymous())
	dbRef := reg.PushTrivyDB(t, "goship/trivy-db", "GOSHIP-2026-0002", vulnLib, "<1.0.1", "1.0.1")
	proxy := testworld.GoModuleProxy(t, vulnLib, "v1.0.0")
	rootfs := t.TempDir()
	writeTree(t, rootfs, map[string][]byte{"app": testworld.BinaryWithDependency(t, proxy, vulnLib, "v1.0.0")})

	p := scan.DefaultPolicy()
	p.Scanners = []string{"vuln"}
	p.DBRepositories = []string{dbRef}
	p.CacheDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, _, err := scan.Run(ctx, testworld.Tool(t, "trivy"), p, scan.Rootfs, rootfs, t.TempDir(), nil); err == nil {
		t.Fatal("the DB download succeeded without trusting the CA")
	}
	caDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(caDir, "registry-ca.pem"), reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_DIR", caDir)
	_, verdict, err := scan.Run(ctx, testworld.Tool(t, "trivy"), p, scan.Rootfs, rootfs, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if verdict.Pass() || verdict.Blocking[0].ID != "GOSHIP-2026-0002" {
		t.Fatalf("blocking = %+v, want GOSHIP-2026-0002 from the mirrored DB", verdict.Blocking)
	}
}

func findingIDs(t *testing.T, p scan.Policy, kind scan.TargetKind, target string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	report, _, err := scan.Run(ctx, testworld.Tool(t, "trivy"), p, kind, target, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range report.Findings() {
		ids = append(ids, f.Kind+":"+f.ID)
	}
	slices.Sort(ids)
	return ids
}

func writeTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
