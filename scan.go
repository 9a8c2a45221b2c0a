package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/scan"
)

// Scan runs Trivy on the runtime image (as a tarball, no push needed) and
// returns the reports: trivy.json, trivy.sarif, sbom.cdx.json, trivy.txt
// and summary.md. It fails when a finding at a gated severity is neither
// in .trivyignore nor in an unexpired entry of .goship-allowlist.yaml.
// +check
func (g *Goship) Scan(
	ctx context.Context,
	// Severities that fail the gate.
	// +optional
	// +default="HIGH,CRITICAL"
	severity string,
	// What to scan for: vuln, secret, misconfig, license.
	// +optional
	// +default="vuln,secret"
	scanners string,
	// Report vulnerabilities that have no fix yet as well.
	// +optional
	includeUnfixed bool,
	// Trivy DB repositories to use instead of ghcr.io/mirror.gcr.io, in priority order (e.g. an ACR copy).
	// +optional
	dbRepository []string,
	// Trivy Java DB repositories, in priority order.
	// +optional
	javaDbRepository []string,
) (*dagger.Directory, error) {
	policy := scan.Policy{
		Severities:         scan.ParseList(strings.ToUpper(severity)),
		Scanners:           scan.ParseList(strings.ToLower(scanners)),
		IgnoreUnfixed:      !includeUnfixed,
		DBRepositories:     dbRepository,
		JavaDBRepositories: javaDbRepository,
		Offline:            g.Offline,
		CacheDir:           "/root/.cache/trivy",
		Timeout:            "15m",
	}
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	img, err := g.Build(ctx)
	if err != nil {
		return nil, err
	}
	trivy := dag.Container().From(g.TrivyImage).
		WithMountedCache("/root/.cache/trivy", dag.CacheVolume("goship-trivy")).
		// New advisories appear daily: a scan result is reused within a day
		// (a re-run is a cache hit) and redone the next day. Offline, the DB
		// cannot change, so the result is reused as long as the image is.
		WithEnvVariable("GOSHIP_SCAN_DAY", g.scanDay()).
		WithMountedFile("/scan/image.tar", img.AsTarball()).
		WithDirectory("/reports", dag.Directory()).
		WithWorkdir("/reports")
	var allow scan.Allowlist
	if ok, _ := exists(ctx, g.Source, ".trivyignore"); ok {
		trivy = trivy.WithFile("/scan/.trivyignore", g.Source.File(".trivyignore"))
		policy.IgnoreFile = "/scan/.trivyignore"
	}
	if ok, _ := exists(ctx, g.Source, ".goship-allowlist.yaml"); ok {
		data, err := g.Source.File(".goship-allowlist.yaml").Contents(ctx)
		if err != nil {
			return nil, err
		}
		if allow, err = scan.ParseAllowlist([]byte(data)); err != nil {
			return nil, err
		}
	}
	files := scan.Reports()
	args, err := policy.Args(scan.ImageTarball, "/scan/image.tar", files["json"])
	if err != nil {
		return nil, err
	}
	run := trivy.WithExec(append([]string{"trivy"}, args...), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	if code, err := run.ExitCode(ctx); err != nil || code != 0 {
		stderr, _ := run.Stderr(ctx)
		if g.Offline && strings.Contains(stderr, "skip-db-update") {
			return nil, fmt.Errorf("offline: the Trivy DB cache (cache volume goship-trivy) is empty; run scan once online or with --db-repository=<reachable mirror>")
		}
		return nil, fmt.Errorf("trivy failed (exit %d, %v): %s", code, err, strings.TrimSpace(stderr))
	}
	for _, format := range []string{"sarif", "cyclonedx", "table"} {
		run = run.WithExec(append([]string{"trivy"}, scan.ConvertArgs(format, files["json"], files[format])...))
	}
	data, err := run.File(files["json"]).Contents(ctx)
	if err != nil {
		return nil, err
	}
	report, err := scan.ParseReport([]byte(data))
	if err != nil {
		return nil, err
	}
	verdict := scan.Gate(report, policy, allow, time.Now())
	summary := verdict.Summary(g.App+":"+g.runContext().Version(), 10)
	reports := run.Directory("/reports").WithNewFile("summary.md", summary)
	if !verdict.Pass() {
		return reports, fmt.Errorf("scan gate failed:\n%s", summary)
	}
	return reports, nil
}

// scanDay keys the scan's cache: today's date, or "offline".
func (g *Goship) scanDay() string {
	if g.Offline {
		return "offline"
	}
	return time.Now().UTC().Format("2006-01-02")
}

// exists reports whether dir has a file at path.
func exists(ctx context.Context, dir *dagger.Directory, path string) (bool, error) {
	matches, err := dir.Glob(ctx, path)
	return len(matches) > 0, err
}
