// Package scan decides how Trivy scans a build and whether the result may
// ship: it builds the trivy argv from a typed policy (severities, scanners,
// ignore files, DB mirrors, offline mode), parses Trivy's JSON report into
// findings, applies the gate with an expiring allowlist, and renders the
// markdown summary CI shows.
package scan

import (
	"fmt"
	"slices"
	"strings"
)

// Severities in Trivy's order, lowest first.
func Severities() []string { return []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"} }

// Scanners Trivy can run here.
func Scanners() []string { return []string{"vuln", "secret", "misconfig", "license"} }

// Policy is what to scan for and what blocks a release.
type Policy struct {
	// Severities that fail the gate (default HIGH, CRITICAL).
	Severities []string
	// IgnoreUnfixed drops vulnerabilities with no fixed version (default on).
	IgnoreUnfixed bool
	// Scanners to run (default vuln, secret).
	Scanners []string
	// IgnoreFile is a .trivyignore path, if the project has one.
	IgnoreFile string
	// DBRepositories and JavaDBRepositories are mirrors of Trivy's
	// databases, in priority order (for users who cannot reach ghcr.io).
	DBRepositories     []string
	JavaDBRepositories []string
	// Offline skips every DB update and network lookup; the DB must be in
	// CacheDir already.
	Offline  bool
	CacheDir string
	// Timeout is trivy's own timeout, e.g. "10m".
	Timeout string
}

// DefaultPolicy is the seeds' gate: HIGH and CRITICAL, fixed only.
func DefaultPolicy() Policy {
	return Policy{Severities: []string{"HIGH", "CRITICAL"}, IgnoreUnfixed: true, Scanners: []string{"vuln", "secret"}}
}

// ParseList reads a comma-separated list, upper- or lower-casing per kind.
func ParseList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate rejects unknown severities and scanners.
func (p Policy) Validate() error {
	if len(p.Severities) == 0 {
		return fmt.Errorf("scan policy: no severities to gate on")
	}
	for _, s := range p.Severities {
		if !slices.Contains(Severities(), s) {
			return fmt.Errorf("scan policy: severity %q: want one of %s", s, strings.Join(Severities(), ", "))
		}
	}
	if len(p.Scanners) == 0 {
		return fmt.Errorf("scan policy: no scanners")
	}
	for _, s := range p.Scanners {
		if !slices.Contains(Scanners(), s) {
			return fmt.Errorf("scan policy: scanner %q: want one of %s", s, strings.Join(Scanners(), ", "))
		}
	}
	return nil
}

// TargetKind is what Trivy scans.
type TargetKind string

// Target kinds.
const (
	// ImageTarball is an image tarball (docker save / OCI layout tar).
	ImageTarball TargetKind = "image"
	// Filesystem is a source tree.
	Filesystem TargetKind = "fs"
	// Rootfs is an unpacked root filesystem.
	Rootfs TargetKind = "rootfs"
)

// Args is the trivy argv (without the binary) that writes the JSON report
// to output. The gate is applied by goship on the report, not by trivy's
// exit code, so the allowlist and the summary see every finding.
func (p Policy) Args(kind TargetKind, path, output string) ([]string, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	args := []string{string(kind)}
	args = append(args,
		"--format", "json", "--output", output,
		"--scanners", strings.Join(p.Scanners, ","),
		"--severity", strings.Join(reportSeverities(p.Severities), ","),
		"--exit-code", "0",
		"--no-progress", "--quiet", "--skip-version-check", "--disable-telemetry",
		"--list-all-pkgs",
	)
	if p.IgnoreUnfixed {
		args = append(args, "--ignore-unfixed")
	}
	if p.IgnoreFile != "" {
		args = append(args, "--ignorefile", p.IgnoreFile)
	}
	if p.CacheDir != "" {
		args = append(args, "--cache-dir", p.CacheDir)
	}
	if p.Timeout != "" {
		args = append(args, "--timeout", p.Timeout)
	}
	for _, r := range p.DBRepositories {
		args = append(args, "--db-repository", r)
	}
	for _, r := range p.JavaDBRepositories {
		args = append(args, "--java-db-repository", r)
	}
	if p.Offline {
		args = append(args, "--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-check-update")
	}
	if kind == ImageTarball {
		args = append(args, "--input", path)
	} else {
		args = append(args, path)
	}
	return args, nil
}

// reportSeverities is the lowest gated severity and everything above it,
// so a gate on HIGH alone still reports CRITICAL findings.
func reportSeverities(gated []string) []string {
	lowest := len(Severities())
	for _, s := range gated {
		if i := slices.Index(Severities(), s); i < lowest {
			lowest = i
		}
	}
	return Severities()[lowest:]
}

// ConvertArgs is the trivy argv that turns a JSON report into format
// (sarif, cyclonedx, table) without scanning again.
func ConvertArgs(format, report, output string) []string {
	return []string{"convert", "--format", format, "--output", output, report}
}
