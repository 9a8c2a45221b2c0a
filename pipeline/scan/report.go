package scan

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is the part of Trivy's JSON report goship uses.
type Report struct {
	SchemaVersion int      `json:"SchemaVersion"`
	ArtifactName  string   `json:"ArtifactName"`
	Results       []Result `json:"Results"`
}

// Result is one scanned target (a binary, a layer's files, …).
type Result struct {
	Target            string             `json:"Target"`
	Class             string             `json:"Class"`
	Type              string             `json:"Type"`
	Vulnerabilities   []Vulnerability    `json:"Vulnerabilities"`
	Secrets           []Secret           `json:"Secrets"`
	Misconfigurations []Misconfiguration `json:"Misconfigurations"`
}

// Vulnerability is a vulnerable package.
type Vulnerability struct {
	VulnerabilityID  string `json:"VulnerabilityID"`
	PkgName          string `json:"PkgName"`
	InstalledVersion string `json:"InstalledVersion"`
	FixedVersion     string `json:"FixedVersion"`
	Severity         string `json:"Severity"`
	Title            string `json:"Title"`
}

// Secret is a credential found in a file.
type Secret struct {
	RuleID    string `json:"RuleID"`
	Category  string `json:"Category"`
	Severity  string `json:"Severity"`
	Title     string `json:"Title"`
	StartLine int    `json:"StartLine"`
}

// Misconfiguration is a failed configuration check.
type Misconfiguration struct {
	ID       string `json:"ID"`
	Title    string `json:"Title"`
	Severity string `json:"Severity"`
	Status   string `json:"Status"`
}

// ParseReport reads Trivy's JSON report.
func ParseReport(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("trivy report: %w", err)
	}
	if r.SchemaVersion != 2 {
		return nil, fmt.Errorf("trivy report: schema version %d, goship reads version 2", r.SchemaVersion)
	}
	return &r, nil
}

// HasGoBinary reports whether Trivy listed the Go binary at target (as
// it names it: relative to the scanned root) among its results.
func (r *Report) HasGoBinary(target string) bool {
	for _, res := range r.Results {
		if res.Type == "gobinary" && res.Target == target {
			return true
		}
	}
	return false
}

// Finding is one vulnerability, secret or misconfiguration, flattened.
type Finding struct {
	Kind     string // vuln, secret, misconfig
	ID       string // CVE/GHSA id, secret rule id, check id
	Package  string // package (vuln) or file (secret, misconfig)
	Version  string
	Fixed    string
	Severity string
	Title    string
}

func (f Finding) String() string {
	switch f.Kind {
	case "vuln":
		fixed := f.Fixed
		if fixed == "" {
			fixed = "no fix"
		}
		return fmt.Sprintf("%s %s in %s %s (fixed in %s): %s", f.Severity, f.ID, f.Package, f.Version, fixed, f.Title)
	default:
		return fmt.Sprintf("%s %s %s in %s: %s", f.Severity, f.Kind, f.ID, f.Package, f.Title)
	}
}

// Findings flattens the report.
func (r *Report) Findings() []Finding {
	var out []Finding
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			out = append(out, Finding{Kind: "vuln", ID: v.VulnerabilityID, Package: v.PkgName, Version: v.InstalledVersion, Fixed: v.FixedVersion, Severity: v.Severity, Title: v.Title})
		}
		for _, s := range res.Secrets {
			out = append(out, Finding{Kind: "secret", ID: s.RuleID, Package: fmt.Sprintf("%s:%d", res.Target, s.StartLine), Severity: s.Severity, Title: s.Title})
		}
		for _, m := range res.Misconfigurations {
			if m.Status == "FAIL" {
				out = append(out, Finding{Kind: "misconfig", ID: m.ID, Package: res.Target, Severity: m.Severity, Title: m.Title})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return slices.Index(Severities(), out[i].Severity) > slices.Index(Severities(), out[j].Severity)
	})
	return out
}

// Verdict is the gate's decision.
type Verdict struct {
	Blocking    []Finding // at a gated severity, not allowed
	Allowed     []Finding // at a gated severity, allowlisted
	Expired     []Finding // allowlisted, but the entry has expired (also Blocking)
	BelowGate   []Finding
	CountsBySev map[string]int
}

// Pass reports whether the release may ship.
func (v Verdict) Pass() bool { return len(v.Blocking) == 0 }

// Gate applies the policy's severities and the allowlist, as of now.
func Gate(r *Report, p Policy, allow Allowlist, now time.Time) Verdict {
	v := Verdict{CountsBySev: map[string]int{}}
	for _, f := range r.Findings() {
		v.CountsBySev[f.Severity]++
		if !slices.Contains(p.Severities, f.Severity) {
			v.BelowGate = append(v.BelowGate, f)
			continue
		}
		switch entry, ok := allow.match(f); {
		case ok && entry.active(now):
			v.Allowed = append(v.Allowed, f)
		case ok:
			v.Expired = append(v.Expired, f)
			v.Blocking = append(v.Blocking, f)
		default:
			v.Blocking = append(v.Blocking, f)
		}
	}
	return v
}

// Summary is markdown for a CI job summary: counts by severity and the
// top findings.
func (v Verdict) Summary(artifact string, top int) string {
	var b strings.Builder
	status := "passed"
	if !v.Pass() {
		status = fmt.Sprintf("FAILED (%d blocking)", len(v.Blocking))
	}
	fmt.Fprintf(&b, "### Trivy scan of `%s`: %s\n\n", artifact, status)
	b.WriteString("| Severity | Findings |\n|---|---|\n")
	sevs := Severities()
	for i := len(sevs) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "| %s | %d |\n", sevs[i], v.CountsBySev[sevs[i]])
	}
	if len(v.Blocking) > 0 {
		b.WriteString("\n**Blocking:**\n\n")
		for i, f := range v.Blocking {
			if i == top {
				fmt.Fprintf(&b, "- … and %d more\n", len(v.Blocking)-top)
				break
			}
			fmt.Fprintf(&b, "- %s\n", mdEscape(f.String()))
		}
	}
	for _, f := range v.Expired {
		fmt.Fprintf(&b, "\n> allowlist entry for %s has expired\n", f.ID)
	}
	if len(v.Allowed) > 0 {
		fmt.Fprintf(&b, "\n%d finding(s) allowlisted.\n", len(v.Allowed))
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}
