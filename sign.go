package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// goshipVersion is what provenance names as the goship that ran; the
// module has no release version of its own yet.
const goshipVersion = "dev"

// errCiFailed is a signing refused because ci did not pass.
var errCiFailed = errors.New("publish --sign-key signs only a release whose ci passed in this run")

// evidence runs ci (a cache hit after ci) and, when every step passed,
// gathers what the provenance states: every step's outcome, each
// platform's SBOM and Trivy report, the images by digest, go.sum. A
// failed or missing step refuses the signing: a signature means "this
// digest passed ci".
func (g *Goship) evidence(ctx context.Context) (*dagger.Directory, error) {
	started := time.Now().UTC()
	run, err := g.runAll(ctx, "", "", false)
	if err != nil {
		return nil, err
	}
	if run.failed != "" {
		return nil, fmt.Errorf("%w, and it did not:\n%s", errCiFailed, run.failed)
	}
	// The toolchain as the build image has it (go1.26.8), not go.mod's line.
	goVersion, err := dag.Container().From(g.GoImage).WithExec([]string{"go", "env", "GOVERSION"}).Stdout(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing: the Go version of %s: %w", g.GoImage, err)
	}
	ev := job.Evidence{GoVersion: strings.TrimSpace(goVersion), SourceURL: g.SourceURL, ModulePath: g.ModulePath, Images: map[string]string{},
		ScannerVersion: imageTag(g.TrivyImage), DBVersion: g.scanDay(),
		StartedOn: started.Format(time.RFC3339), FinishedOn: time.Now().UTC().Format(time.RFC3339)}
	for _, s := range run.steps {
		ev.Steps = append(ev.Steps, job.Step{Name: s.Name, Passed: s.Err == nil})
	}
	dir := dag.Directory()
	for _, p := range g.scanPlatforms(ctx) {
		reports, verdict, _, err := g.scanRun(ctx, g.defaultScanPolicy(), true, p)
		if err != nil {
			return nil, fmt.Errorf("signing: the scan of %s for its evidence: %w", p, err)
		}
		name := strings.ReplaceAll(p, "/", "-")
		pe := job.PlatformEvidence{Platform: p, Passed: verdict.Pass(), SBOM: name + ".cdx.json", Trivy: name + ".trivy.json"}
		dir = dir.WithFile(pe.SBOM, reports.File("sbom.cdx.json")).WithFile(pe.Trivy, reports.File("trivy.json"))
		ev.Platforms = append(ev.Platforms, pe)
	}
	for role, ref := range map[string]string{"go": g.GoImage, "lint": g.LintImage, "trivy": g.TrivyImage, "runtime-base": g.RuntimeBase} {
		if ref == "" {
			continue
		}
		// The engine resolves a tag to the digest it ran.
		if resolved, err := dag.Container().From(ref).ImageRef(ctx); err == nil {
			ref = resolved
		}
		ev.Images[role] = ref
	}
	if ok, _ := g.moduleDir().Exists(ctx, "go.sum"); ok {
		ev.GoSum = "go.sum"
		dir = dir.WithFile(ev.GoSum, g.moduleDir().File("go.sum"))
	}
	data, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return nil, err
	}
	return dir.WithNewFile(job.EvidenceFile, string(data)), nil
}

// imageTag is ref's tag (0.69.3 of aquasec/trivy:0.69.3@sha256:…), else
// the reference as given.
func imageTag(ref string) string {
	repoTag, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(repoTag, ":"); i > strings.LastIndex(repoTag, "/") {
		return repoTag[i+1:]
	}
	return ref
}
