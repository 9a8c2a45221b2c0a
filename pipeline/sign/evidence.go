package sign

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Run is the ci run that built and gated an image: what the provenance
// states about the source, the builder and the toolchain.
type Run struct {
	// Repository is the source repository's URI, e.g.
	// https://github.com/acme/hello (optional: a checkout without a known
	// remote has none, and a made-up one would mislead).
	Repository string
	// Commit is the full 40-hex git commit that was built.
	Commit string
	// Ref is the git ref that was built, e.g. refs/heads/main or
	// refs/tags/v1.2.0.
	Ref string
	// GoshipVersion is the version of goship that ran ci.
	GoshipVersion string
	// BuilderID names the platform that ran goship (SLSA builder.id), e.g.
	// https://github.com/acme/hello/.github/workflows/release.yml; empty:
	// DefaultBuilderID.
	BuilderID string
	// InvocationID is the ci run, e.g. its URL
	// (https://github.com/acme/hello/actions/runs/42).
	InvocationID string
	// GoVersion is the Go toolchain that built, e.g. go1.26.8.
	GoVersion string
	// Images are the base and tool images the run used, each pinned by
	// digest.
	Images []Image
	// Modules are the modules from go.sum (see ParseGoSum).
	Modules []Module
	// StartedOn and FinishedOn bound the run. FinishedOn is when the gate
	// passed: VerifyOptions.MaxAge counts from it.
	StartedOn, FinishedOn time.Time
}

// DefaultBuilderID is the builder a provenance names when Run.BuilderID
// is empty.
const DefaultBuilderID = "https://github.com/goship-dev/goship"

// Image is a base or tool image the run used.
type Image struct {
	// Role says what the image was for: base, golang, golangci-lint, trivy….
	Role string
	// Ref is repo@sha256:… (a tag alone is refused: it can move).
	Ref string
}

// Module is one module from go.sum, with the hash of its content.
type Module struct {
	Path, Version string
	// Hash is go.sum's h1: hash of the module's files.
	Hash string
}

// Step is a ci step the gate requires.
type Step string

// The steps of ci, in order. Build and scan run once per platform.
const (
	StepLint  Step = "lint"
	StepTest  Step = "test"
	StepBuild Step = "build"
	StepScan  Step = "scan"
)

// StepResult is how one ci step ended.
type StepResult struct {
	Step Step
	// Platform is os/arch[/variant] for build and scan, empty for lint and
	// test.
	Platform string
	Passed   bool
	// Summary is one line for people, e.g. "0 blocking at HIGH/CRITICAL".
	Summary string
}

// Scan is the evidence of one platform's scan: its CycloneDX SBOM and
// its Trivy report.
type Scan struct {
	// Platform is os/arch[/variant].
	Platform string
	// Digest is the platform's manifest digest (sha256:…), the one the
	// registry holds under the signed index (or the image digest itself
	// for a single-platform image).
	Digest string
	// SBOM is CycloneDX JSON (trivy --format cyclonedx).
	SBOM []byte
	// Report is Trivy's JSON report (trivy --format json).
	Report []byte
	// ScannerVersion is trivy's version, e.g. v0.69.3.
	ScannerVersion string
	// DBVersion names the vulnerability database used (e.g. its UpdatedAt).
	DBVersion             string
	StartedOn, FinishedOn time.Time
}

// Evidence is what a signing needs from ci: the run, every step's
// outcome, and each platform's scan.
type Evidence struct {
	Run   Run
	Steps []StepResult
	Scans []Scan
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Validate checks the run's fields that a provenance must state.
func (r Run) Validate() error {
	switch {
	case !commitRE.MatchString(r.Commit):
		return fmt.Errorf("run: commit %q is not a full 40-hex git commit (give git rev-parse HEAD)", r.Commit)
	case r.Ref == "":
		return fmt.Errorf("run: the git ref is empty (give e.g. refs/heads/main)")
	case r.GoshipVersion == "":
		return fmt.Errorf("run: goship's version is empty")
	case r.FinishedOn.IsZero():
		return fmt.Errorf("run: FinishedOn is not set: the gate's age counts from it")
	case !r.StartedOn.IsZero() && r.StartedOn.After(r.FinishedOn):
		return fmt.Errorf("run: started %s after it finished %s", r.StartedOn.Format(time.RFC3339), r.FinishedOn.Format(time.RFC3339))
	}
	for _, img := range r.Images {
		if img.Role == "" {
			return fmt.Errorf("run: image %q has no role (base, golang, trivy…)", img.Ref)
		}
		ref, err := name.ParseReference(img.Ref)
		if err != nil {
			return fmt.Errorf("run: %s image %q: %w", img.Role, img.Ref, err)
		}
		if _, ok := ref.(name.Digest); !ok {
			// name.ParseReference keeps only the digest of repo:tag@sha256:….
			return fmt.Errorf("run: %s image %q is not pinned by digest: give repo@sha256:… (a tag can move)", img.Role, img.Ref)
		}
	}
	for _, m := range r.Modules {
		if _, err := moduleDirHash(m.Hash); err != nil {
			return fmt.Errorf("run: module %s@%s: %w", m.Path, m.Version, err)
		}
	}
	return nil
}

// ParseGoSum reads the modules of a go.sum: one per module content line
// (path version h1:…); the /go.mod lines, which hash only a go.mod, are
// left out.
func ParseGoSum(data []byte) ([]Module, error) {
	var out []Module
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("go.sum line %d: want \"path version h1:hash\", got %q", n, sc.Text())
		}
		if strings.HasSuffix(f[1], "/go.mod") {
			continue
		}
		if _, err := moduleDirHash(f[2]); err != nil {
			return nil, fmt.Errorf("go.sum line %d: %w", n, err)
		}
		out = append(out, Module{Path: f[0], Version: f[1], Hash: f[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading go.sum: %w", err)
	}
	return out, nil
}

// moduleDirHash turns go.sum's h1:<base64 SHA-256> into the hex dirHash of
// an in-toto digest set.
func moduleDirHash(h1 string) (string, error) {
	b64, ok := strings.CutPrefix(h1, "h1:")
	if !ok {
		return "", fmt.Errorf("hash %q is not an h1: hash", h1)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return "", fmt.Errorf("hash %q is not base64 of 32 bytes", h1)
	}
	return hex.EncodeToString(raw), nil
}

// GateReason says why the gate refused.
type GateReason string

// Why a gate refuses.
const (
	// GateMissing: the step has no result in the evidence (it did not run
	// in this run).
	GateMissing GateReason = "missing"
	// GateFailed: the step ran and failed.
	GateFailed GateReason = "failed"
	// GateOtherDigest: the scan's evidence is of another digest than the
	// platform's manifest in the registry.
	GateOtherDigest GateReason = "other-digest"
	// GateBadEvidence: a scan's SBOM or report is malformed.
	GateBadEvidence GateReason = "bad-evidence"
)

// GateError is Sign's refusal: ci did not pass for this digest.
type GateError struct {
	// Reference is the repo@sha256:… that was not signed.
	Reference string
	Step      Step
	// Platform of a build or scan step.
	Platform string
	Reason   GateReason
	// Detail is the step's summary, or what is wrong with the evidence.
	Detail string
}

func (e *GateError) Error() string {
	what := string(e.Step)
	if e.Platform != "" {
		what += " for " + e.Platform
	}
	var why string
	switch e.Reason {
	case GateMissing:
		why = "did not run in this run"
	case GateFailed:
		why = "failed"
	case GateOtherDigest:
		why = "scanned another digest"
	default:
		why = "has malformed evidence"
	}
	if e.Detail != "" {
		why += " (" + e.Detail + ")"
	}
	return fmt.Sprintf("signing %s refused: ci step %s %s. publish --sign-key needs a passing ci in the same run: lint, test, and build and scan of every platform of the image; fix the step and run ci again", e.Reference, what, why)
}

// platform is one platform of the image being signed.
type platform struct {
	name   string
	digest v1.Hash
}

// checkGate refuses unless lint and test passed and every platform of
// the image was built and scanned, passing, with the scan's evidence for
// that platform's digest. It returns each platform's scan.
func checkGate(ref string, ev Evidence, platforms []platform) ([]Scan, error) {
	refuse := func(s Step, p string, r GateReason, detail string) error {
		return &GateError{Reference: ref, Step: s, Platform: p, Reason: r, Detail: detail}
	}
	if err := ev.Run.Validate(); err != nil {
		return nil, fmt.Errorf("signing %s: the evidence: %w", ref, err)
	}
	result := func(s Step, p string) (StepResult, bool) {
		var found StepResult
		ok := false
		for _, r := range ev.Steps {
			if r.Step == s && r.Platform == p {
				// A failed result of the step wins over a passed one.
				if !ok || !r.Passed {
					found, ok = r, true
				}
			}
		}
		return found, ok
	}
	check := func(s Step, p string) error {
		r, ok := result(s, p)
		switch {
		case !ok:
			return refuse(s, p, GateMissing, "")
		case !r.Passed:
			return refuse(s, p, GateFailed, r.Summary)
		}
		return nil
	}
	for _, s := range []Step{StepLint, StepTest} {
		if err := check(s, ""); err != nil {
			return nil, err
		}
	}
	var scans []Scan
	for _, p := range platforms {
		for _, s := range []Step{StepBuild, StepScan} {
			if err := check(s, p.name); err != nil {
				return nil, err
			}
		}
		var sc *Scan
		for i := range ev.Scans {
			if ev.Scans[i].Platform == p.name {
				sc = &ev.Scans[i]
			}
		}
		if sc == nil {
			return nil, refuse(StepScan, p.name, GateMissing, "no SBOM and report for this platform")
		}
		if sc.Digest != p.digest.String() {
			return nil, refuse(StepScan, p.name, GateOtherDigest, fmt.Sprintf("the scan names %s, the registry's %s manifest is %s", orNone(sc.Digest), p.name, p.digest))
		}
		if _, err := decodeSBOM(sc.SBOM); err != nil {
			return nil, refuse(StepScan, p.name, GateBadEvidence, err.Error())
		}
		if _, err := vulnPredicate(*sc, ev.Run); err != nil {
			return nil, refuse(StepScan, p.name, GateBadEvidence, err.Error())
		}
		scans = append(scans, *sc)
	}
	return scans, nil
}

func orNone(s string) string {
	if s == "" {
		return "no digest"
	}
	return s
}
