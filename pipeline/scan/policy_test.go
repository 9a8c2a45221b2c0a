package scan

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestArgs(t *testing.T) {
	p := DefaultPolicy()
	p.DBRepositories = []string{"registry.cn-hangzhou.aliyuncs.com/mirror/trivy-db:2"}
	p.Offline = true
	p.IgnoreFile = "/src/.trivyignore"
	args, err := p.Args(ImageTarball, "/in/image.tar", "/out/trivy.json")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{"image ", "--input /in/image.tar", "--severity HIGH,CRITICAL", "--scanners vuln,secret", "--ignore-unfixed", "--skip-db-update", "--offline-scan", "--db-repository registry.cn-hangzhou.aliyuncs.com/mirror/trivy-db:2", "--ignorefile /src/.trivyignore", "--exit-code 0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args lack %q: %s", want, joined)
		}
	}
	fs, _ := Policy{Severities: []string{"MEDIUM"}, Scanners: []string{"misconfig"}}.Args(Filesystem, "/src", "o.json")
	if fs[len(fs)-1] != "/src" || !slices.Contains(fs, "MEDIUM,HIGH,CRITICAL") || slices.Contains(fs, "--ignore-unfixed") {
		t.Fatalf("fs args = %v", fs)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, p := range []Policy{
		{Severities: []string{"SEVERE"}, Scanners: []string{"vuln"}},
		{Severities: []string{"HIGH"}, Scanners: []string{"virus"}},
		{Scanners: []string{"vuln"}},
	} {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

func TestAllowlistParsing(t *testing.T) {
	for _, bad := range []string{
		"- id: X\n  expires: 2026-01-01\n",        // no reason
		"- id: X\n  expires: soon\n  reason: r\n", // bad date
		"- expires: 2026-01-01\n  reason: r\n",    // no id
		"not: [a list",                            // not YAML
	} {
		if _, err := ParseAllowlist([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	a, err := ParseAllowlist([]byte("- id: CVE-1\n  package: pkg\n  expires: 2026-05-01\n  reason: r\n"))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 5, 1, 23, 0, 0, 0, time.UTC)
	if e, ok := a.match(Finding{ID: "CVE-1", Package: "pkg"}); !ok || !e.active(day) || e.active(day.Add(2*time.Hour)) {
		t.Fatal("expiry is not inclusive of the whole day")
	}
	if _, ok := a.match(Finding{ID: "CVE-1", Package: "other"}); ok {
		t.Fatal("entry scoped to a package matched another")
	}
}

func TestParseReportRejectsOtherSchemas(t *testing.T) {
	if _, err := ParseReport([]byte(`{"SchemaVersion":1}`)); err == nil {
		t.Fatal("schema 1 accepted")
	}
	if _, err := ParseReport([]byte(`{`)); err == nil {
		t.Fatal("broken JSON accepted")
	}
}
