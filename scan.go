package main

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/scan"
)

// Scan runs Trivy on the runtime image (a library's source, when there is
// no main package) and returns the reports:
// trivy.json, trivy.sarif, sbom.cdx.json, trivy.txt and summary.md. It
// fails when a finding at a gated severity is neither in .trivyignore nor
// in an unexpired entry of .goship-allowlist.yaml. Settings left empty
// here come from the constructor (--scan-severity, --scanners,
// --trivy-db-repository), which is what ci and dagger check use.
// +check
func (g *Goship) Scan(
	ctx context.Context,
	// Severities that fail the gate; default: the constructor's --scan-severity.
	// +optional
	severity string,
	// What to scan for: vuln, secret, misconfig, license; default: the constructor's --scanners.
	// +optional
	scanners string,
	// Report vulnerabilities that have no fix yet as well.
	// +optional
	includeUnfixed bool,
	// Trivy DB repositories, in priority order; default: the constructor's --trivy-db-repository.
	// +optional
	dbRepository []string,
	// Trivy Java DB repositories, in priority order; default: the constructor's.
	// +optional
	javaDbRepository []string,
	// Platform whose image to scan, e.g. linux/arm64; default: the first of --platforms (ci scans every one).
	// +optional
	platform string,
) (*dagger.Directory, error) {
	p := g.defaultScanPolicy()
	if severity != "" {
		p.Severities = scan.ParseList(strings.ToUpper(severity))
	}
	if scanners != "" {
		p.Scanners = scan.ParseList(strings.ToLower(scanners))
	}
	p.IgnoreUnfixed = !includeUnfixed
	if len(dbRepository) > 0 {
		p.DBRepositories = dbRepository
	}
	if len(javaDbRepository) > 0 {
		p.JavaDBRepositories = javaDbRepository
	}
	if platform == "" {
		platform = g.Platforms[0]
	}
	return g.scan(ctx, p, true, platform)
}

// scan runs the scan under policy; allFormats adds SARIF, CycloneDX and a
// table to the JSON report and summary, which a gate-only run (ci) skips.
func (g *Goship) scan(ctx context.Context, policy scan.Policy, allFormats bool, platform string) (*dagger.Directory, error) {
	reports, verdict, summary, err := g.scanRun(ctx, policy, allFormats, platform)
	if err != nil {
		return nil, err
	}
	if !verdict.Pass() {
		return reports, fmt.Errorf("scan gate failed:\n%s", summary)
	}
	return reports, nil
}

// scanRun runs the scan and returns its reports, the gate's verdict and
// its summary; the error is for a scan that could not run, not for a
// failed gate. signing reads its reports: the Trivy run is the one ci
// makes, so theirs is a cache hit.
func (g *Goship) scanRun(ctx context.Context, policy scan.Policy, allFormats bool, platform string) (*dagger.Directory, scan.Verdict, string, error) {
	var none scan.Verdict
	if err := policy.Validate(); err != nil {
		return nil, none, "", err
	}
	trivy, kind, target, sbomOf, err := g.scanTarget(ctx, g.trivy(policy), platform)
	if err != nil {
		return nil, none, "", err
	}
	var allow scan.Allowlist
	if ok, _ := exists(ctx, g.moduleDir(), ".trivyignore"); ok {
		ignore, err := g.moduleDir().File(".trivyignore").Contents(ctx)
		if err != nil {
			return nil, none, "", err
		}
		// By content: a file taken from the source would make every
		// source edit a new scan.
		trivy = trivy.WithMountedFile("/scan/.trivyignore", dag.File(".trivyignore", ignore))
		policy.IgnoreFile = "/scan/.trivyignore"
	}
	if ok, _ := exists(ctx, g.moduleDir(), ".goship-allowlist.yaml"); ok {
		data, err := g.moduleDir().File(".goship-allowlist.yaml").Contents(ctx)
		if err != nil {
			return nil, none, "", err
		}
		if allow, err = scan.ParseAllowlist([]byte(data)); err != nil {
			return nil, none, "", err
		}
	}
	files := scan.Reports()
	args, err := policy.Args(kind, target, files["json"])
	if err != nil {
		return nil, none, "", err
	}
	run := trivy.WithExec(append([]string{"trivy"}, args...), dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	if code, err := run.ExitCode(ctx); err != nil || code != 0 {
		stderr, _ := run.Stderr(ctx)
		if g.Offline && strings.Contains(stderr, "skip-db-update") {
			return nil, none, "", fmt.Errorf("offline: the Trivy DB cache (cache volume %s-%s) is empty; run scan once online or with --trivy-db-repository=<reachable mirror>", g.CacheNamespace, trivyCache(policy))
		}
		return nil, none, "", fmt.Errorf("trivy failed (exit %d, %v): %s", code, err, strings.TrimSpace(stderr))
	}
	// The JSON report decides the gate; the other formats are converted
	// from it afterwards.
	data, err := run.File(files["json"]).Contents(ctx)
	if err != nil {
		return nil, none, "", err
	}
	report, err := scan.ParseReport([]byte(data))
	if err != nil {
		return nil, none, "", err
	}
	if sbomOf != "" && slices.Contains(policy.Scanners, "vuln") && !report.HasGoBinary(sbomOf) {
		// Trivy logs an SBOM it cannot read at debug level and scans on:
		// that would pass the gate with no Go package looked at.
		return nil, none, "", fmt.Errorf("trivy read no Go packages from the SBOM of %s; this Trivy may not read goship's SBOMs (pass --dockerfile to scan the image whole)", sbomOf)
	}
	verdict := scan.Gate(report, policy, allow, time.Now())
	app, err := g.appName(ctx)
	if err != nil {
		return nil, none, "", err
	}
	summary := verdict.Summary(app+":"+g.runContext().Version(), 10)
	for _, format := range []string{"sarif", "cyclonedx", "table"} {
		if allFormats {
			run = run.WithExec(append([]string{"trivy"}, scan.ConvertArgs(format, files["json"], files[format])...))
		}
	}
	reports := run.Directory("/reports").WithNewFile("summary.md", summary)
	return reports, verdict, summary, nil
}

// scanTarget mounts what Trivy scans. goship's own image is scanned as
// its root filesystem with the binary's SBOM where the binary is (see
// scan.GoBinarySBOM: the same findings, and a cache hit while the
// dependencies stay the same; the rest of that filesystem does not depend
// on the source, and Trivy's secret scanner skips binaries). A project
// Dockerfile may put anything in the image config (ENV, history), so that
// image is scanned whole. A library has no image: its source is scanned
// (go.mod's dependencies, secrets). The last string names the binary
// whose SBOM stands in for it, if one does.
func (g *Goship) scanTarget(ctx context.Context, trivy *dagger.Container, platform string) (*dagger.Container, scan.TargetKind, string, string, error) {
	if g.Dockerfile != "" {
		img, err := g.runtimeImage(ctx, platform)
		if err != nil {
			return nil, "", "", "", err
		}
		return trivy.WithMountedFile("/scan/image.tar", img.AsTarball()), scan.ImageTarball, "/scan/image.tar", "", nil
	}
	if _, err := g.mainPkg(ctx); errors.Is(err, project.ErrNoMainPackage) {
		return trivy.WithMountedDirectory("/scan/source", g.moduleDir().WithoutDirectory(".git")), scan.Filesystem, "/scan/source", "", nil
	}
	bin, err := g.Binary(ctx, platform)
	if err != nil {
		return nil, "", "", "", err
	}
	base, spec, err := g.runtimeBase(platform)
	if err != nil {
		return nil, "", "", "", err
	}
	binPath := strings.TrimPrefix(spec.BinaryPath, "/")
	sbom, err := binarySBOM(ctx, bin, binPath)
	if err != nil {
		return nil, "", "", "", err
	}
	rootfs := base.Rootfs().WithNewFile(spec.BinaryPath+scan.SBOMSuffix, string(sbom))
	return trivy.WithMountedDirectory("/scan/rootfs", rootfs), scan.Rootfs, "/scan/rootfs", binPath, nil
}

// binarySBOM reads bin's build info in goship's own filesystem and
// writes it as the SBOM Trivy scans in its place.
func binarySBOM(ctx context.Context, bin *dagger.File, path string) ([]byte, error) {
	local, cleanup, err := exportTemp(ctx, bin, "app")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	info, err := buildinfo.ReadFile(local)
	if err != nil {
		return nil, fmt.Errorf("read the binary's build info: %w", err)
	}
	return scan.GoBinarySBOM(info, path)
}

// trivy is the Trivy container: its DB cache, the registry CA for DB
// downloads, and --insecure for a DB registry reached over plain HTTP.
func (g *Goship) trivy(policy scan.Policy) *dagger.Container {
	c := dag.Container().From(g.TrivyImage).
		WithMountedCache("/root/.cache/trivy", g.cache(trivyCache(policy))).
		// New advisories appear daily: a scan result is reused within a day
		// (a re-run is a cache hit) and redone the next day. Offline, the DB
		// cannot change, so the result is reused as long as the image is.
		WithEnvVariable("GOSHIP_SCAN_DAY", g.scanDay()).
		// A mount, not a directory in the image: writing into the image
		// would first copy on top of its whole root filesystem.
		WithMountedDirectory("/reports", dag.Directory()).
		WithWorkdir("/reports")
	if g.RegistryCa != nil {
		// Go reads SSL_CERT_DIR in addition to the system bundle file, so
		// the system's CAs stay trusted.
		c = c.WithMountedFile("/goship/ca/registry-ca.pem", g.RegistryCa).
			WithEnvVariable("SSL_CERT_DIR", "/goship/ca")
	}
	for _, repo := range append(slices.Clone(policy.DBRepositories), policy.JavaDBRepositories...) {
		host, _, _ := strings.Cut(repo, "/")
		if slices.Contains(g.PlainHttpRegistry, host) {
			c = c.WithEnvVariable("TRIVY_INSECURE", "true")
		}
	}
	return c
}

// trivyCache names the Trivy DB cache volume after the DB repositories:
// a DB from one mirror is never taken for another's.
func trivyCache(p scan.Policy) string {
	if len(p.DBRepositories) == 0 && len(p.JavaDBRepositories) == 0 {
		return "trivy"
	}
	sum := sha256.Sum256([]byte(strings.Join(p.DBRepositories, ",") + "|" + strings.Join(p.JavaDBRepositories, ",")))
	return "trivy-" + hex.EncodeToString(sum[:4])
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
