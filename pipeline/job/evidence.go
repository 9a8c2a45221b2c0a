package job

// EvidenceFile is the file in a Sign.Evidence directory that lists what
// ci found; the files it names sit beside it.
const EvidenceFile = "evidence.json"

// Evidence is what the module's ci run found, for the provenance a
// release is signed with. Signing refuses it unless every step passed.
type Evidence struct {
	// Steps are every ci step with its outcome: lint, test, build, and a
	// scan per platform.
	Steps []Step `json:"steps"`
	// Platforms are the scanned images of the index, one per platform.
	Platforms []PlatformEvidence `json:"platforms"`
	// GoVersion is the Go toolchain the binary was built with.
	GoVersion string `json:"goVersion"`
	// Images are the images the build and the checks ran, as role →
	// reference (by digest where the engine resolved one): go, lint,
	// trivy, runtime-base.
	Images map[string]string `json:"images"`
	// GoSum is the file holding the module's go.sum ("" for none).
	GoSum string `json:"goSum,omitempty"`
	// SourceURL is the repository the commit is from.
	SourceURL string `json:"sourceURL,omitempty"`
	// ModulePath is the Go module built.
	ModulePath string `json:"modulePath,omitempty"`
	// ScannerVersion is Trivy's version; DBVersion names its database
	// (the day of the scan: the result is reused within a day).
	ScannerVersion string `json:"scannerVersion"`
	DBVersion      string `json:"dbVersion"`
	// StartedOn and FinishedOn bound the ci run (RFC 3339).
	StartedOn  string `json:"startedOn"`
	FinishedOn string `json:"finishedOn"`
}

// Step is one ci step and how it ended.
type Step struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	// Detail is the first line of why it failed.
	Detail string `json:"detail,omitempty"`
}

// PlatformEvidence is one platform's image: its scan verdict and
// reports.
type PlatformEvidence struct {
	Platform string `json:"platform"`
	// Passed is the scan gate's verdict for this platform.
	Passed bool `json:"passed"`
	// SBOM and Trivy are files beside evidence.json: the CycloneDX SBOM
	// and Trivy's JSON report.
	SBOM  string `json:"sbom"`
	Trivy string `json:"trivy"`
}
