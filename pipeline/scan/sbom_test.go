package scan_test

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// Trivy finds in the SBOM goship writes from a binary's build info what it
// finds in the binary itself: the same targets, packages (stdlib, the
// main module, dependencies with replacements applied) and
// vulnerabilities, against the fixture DB. The binaries are built as
// goship builds: -trimpath, stamped with -X.
func TestSBOMScanFindsWhatTheBinaryScanFinds(t *testing.T) {
	proxy := testworld.GoModuleProxy(t, vulnLib, "v1.0.0", "v1.0.1")
	p := offlineVulnPolicy(t)

	build := []string{"-trimpath", "-ldflags", "-s -w -X main.version=1.2.3 -X 'main.commit=abc def'"}
	for _, c := range []struct {
		name, requires string
		vulnerable     bool
	}{
		{"vulnerable dependency", "require " + vulnLib + " v1.0.0\n", true},
		{"replaced by the vulnerable version", "require " + vulnLib + " v1.0.1\n\nreplace " + vulnLib + " => " + vulnLib + " v1.0.0\n", true},
		{"fixed dependency", "require " + vulnLib + " v1.0.1\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := testworld.BinaryImporting(t, proxy, vulnLib, c.requires, build...)
			info, err := buildinfo.Read(bytes.NewReader(bin))
			if err != nil {
				t.Fatal(err)
			}
			sbom, err := scan.GoBinarySBOM(info, "usr/local/bin/app")
			if err != nil {
				t.Fatal(err)
			}
			binary, fromSBOM := t.TempDir(), t.TempDir()
			writeTree(t, binary, map[string][]byte{"usr/local/bin/app": bin})
			writeTree(t, fromSBOM, map[string][]byte{"usr/local/bin/app" + scan.SBOMSuffix: sbom})

			want, got := packagesAndVulns(t, p, binary), packagesAndVulns(t, p, fromSBOM)
			if !slices.Equal(want, got) {
				t.Fatalf("from the SBOM:\n%v\nfrom the binary:\n%v", got, want)
			}
			if !slices.Contains(got, "target usr/local/bin/app lang-pkgs gobinary") {
				t.Fatalf("no Go binary result for the SBOM: %v", got)
			}
			advisory := "vuln usr/local/bin/app GOSHIP-2026-0001 " + vulnLib + "@v1.0.0 fixed 1.0.1 HIGH"
			if slices.Contains(want, advisory) != c.vulnerable {
				t.Fatalf("want the advisory: %v; found %v", c.vulnerable, want)
			}
		})
	}
}

// The SBOM holds only what decides the findings: rebuilt with another
// version, commit and date stamped, it is the same bytes, so its scan is
// a cache hit. A binary built without -trimpath carries its -ldflags,
// from which Trivy reads a version the SBOM would not have: refused.
func TestSBOMIsTheSameAcrossStamps(t *testing.T) {
	proxy := testworld.GoModuleProxy(t, vulnLib, "v1.0.0")
	sbomOf := func(args ...string) ([]byte, error) {
		bin := testworld.BinaryImporting(t, proxy, vulnLib, "require "+vulnLib+" v1.0.0\n", args...)
		info, err := buildinfo.Read(bytes.NewReader(bin))
		if err != nil {
			t.Fatal(err)
		}
		return scan.GoBinarySBOM(info, "app")
	}
	a, err := sbomOf("-trimpath", "-ldflags", "-X main.version=1.2.3 -X main.commit=aaaa -X main.date=2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	b, err := sbomOf("-trimpath", "-ldflags", "-s -w -X main.version=1.2.4 -X main.commit=bbbb -X main.date=2026-02-02T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("the SBOM changed with the stamps:\n%s\n%s", a, b)
	}
	if _, err := sbomOf("-ldflags", "-X main.version=1.2.3"); err == nil || !strings.Contains(err.Error(), "-trimpath") {
		t.Fatalf("a binary with -ldflags in its build info: err = %v, want a refusal naming -trimpath", err)
	}
}

// packagesAndVulns scans target and lists, sorted, every language
// package and every vulnerability with the target Trivy names it under.
func packagesAndVulns(t *testing.T, p scan.Policy, target string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := t.TempDir()
	if _, _, err := scan.Run(ctx, testworld.Tool(t, "trivy"), p, scan.Rootfs, target, out, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, scan.Reports()["json"]))
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Results []struct {
			Target, Class, Type string
			Packages            []struct{ Name, Version string }
			Vulnerabilities     []struct{ VulnerabilityID, PkgName, InstalledVersion, FixedVersion, Severity string }
		}
	}
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range report.Results {
		lines = append(lines, fmt.Sprintf("target %s %s %s", r.Target, r.Class, r.Type))
		for _, pkg := range r.Packages {
			lines = append(lines, fmt.Sprintf("pkg %s %s@%s", r.Target, pkg.Name, pkg.Version))
		}
		for _, v := range r.Vulnerabilities {
			lines = append(lines, fmt.Sprintf("vuln %s %s %s@%s fixed %s %s", r.Target, v.VulnerabilityID, v.PkgName, v.InstalledVersion, v.FixedVersion, v.Severity))
		}
	}
	slices.Sort(lines)
	if len(lines) == 0 {
		t.Fatalf("trivy found nothing in %s", target)
	}
	return lines
}
