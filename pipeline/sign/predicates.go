package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/goship-dev/goship/pipeline/scan"
)

// Predicate types goship writes and reads.
const (
	// SignPredicateType is the statement of an image signature in the
	// bundle format, as cosign v3's sign writes it: a predicate-less
	// statement that names the digest.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
	// ProvenancePredicateType is SLSA provenance v1 (cosign --type
	// slsaprovenance1).
	ProvenancePredicateType = "https://slsa.dev/provenance/v1"
	// CycloneDXPredicateType is a CycloneDX SBOM (cosign --type cyclonedx).
	CycloneDXPredicateType = "https://cyclonedx.org/bom"
	// VulnPredicateType is cosign's vulnerability scan predicate (cosign
	// --type vuln).
	VulnPredicateType = "https://cosign.sigstore.dev/attestation/vuln/v1"
)

// BuildType is the SLSA buildType of goship's ci provenance: its
// byproducts are the outcome of every ci step (see StepResult).
const BuildType = "https://goship.dev/buildtypes/ci/v1"

// stepByproduct names a step's byproduct in a provenance:
// goship-step:<step>[/<platform>].
const stepByproduct = "goship-step:"

// subjects are what the statements of a signing are about: the signed
// digest, and for an index each platform's manifest too.
type subjects struct {
	repo      string
	digest    v1.Hash
	platforms []platform
}

func (s subjects) list(only *platform) []*intoto.ResourceDescriptor {
	out := []*intoto.ResourceDescriptor{{Name: s.repo, Digest: map[string]string{s.digest.Algorithm: s.digest.Hex}}}
	for _, p := range s.platforms {
		if p.digest == s.digest || (only != nil && p.name != only.name) {
			continue
		}
		ann, _ := structpb.NewStruct(map[string]any{"platform": p.name})
		out = append(out, &intoto.ResourceDescriptor{Name: s.repo, Digest: map[string]string{p.digest.Algorithm: p.digest.Hex}, Annotations: ann})
	}
	return out
}

// statement is an in-toto v1 statement of predicate about subjects, as
// JSON.
func statement(subj []*intoto.ResourceDescriptor, predicateType string, predicate *structpb.Struct) ([]byte, error) {
	st := &intoto.Statement{Type: intoto.StatementTypeUri, Subject: subj, PredicateType: predicateType, Predicate: predicate}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("the %s statement: %w", predicateType, err)
	}
	return protojson.Marshal(st)
}

// signStatement is the image signature's statement: cosign v3's, with
// the commit, ref and run as the subject's annotations (cosign verify
// prints them as optional claims and checks them with -a key=value).
func signStatement(s subjects, run Run) ([]byte, error) {
	ann := map[string]any{"commit": run.Commit, "ref": run.Ref}
	if run.InvocationID != "" {
		ann["run"] = run.InvocationID
	}
	a, err := structpb.NewStruct(ann)
	if err != nil {
		return nil, err
	}
	subj := &intoto.ResourceDescriptor{Digest: map[string]string{s.digest.Algorithm: s.digest.Hex}, Annotations: a}
	return statement([]*intoto.ResourceDescriptor{subj}, SignPredicateType, &structpb.Struct{})
}

// provenance is the SLSA v1 provenance of a ci run: its source, builder,
// toolchain, base and tool images, modules, and each step's outcome.
func provenance(run Run, steps []StepResult, platforms []platform) (*structpb.Struct, error) {
	ext, err := structpb.NewStruct(map[string]any{"repository": run.Repository, "ref": run.Ref, "commit": run.Commit})
	if err != nil {
		return nil, err
	}
	var names []any
	for _, p := range platforms {
		names = append(names, p.name)
	}
	internal, err := structpb.NewStruct(map[string]any{"goshipVersion": run.GoshipVersion, "goVersion": run.GoVersion, "platforms": names})
	if err != nil {
		return nil, err
	}
	source := &intoto.ResourceDescriptor{Name: "source", Digest: map[string]string{"gitCommit": run.Commit}}
	if run.Repository != "" {
		source.Uri = "git+" + run.Repository + "@" + run.Ref
	}
	deps := []*intoto.ResourceDescriptor{source}
	for _, img := range run.Images {
		repo, d, _ := strings.Cut(img.Ref, "@")
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("%s image %q: %w", img.Role, img.Ref, err)
		}
		deps = append(deps, &intoto.ResourceDescriptor{Name: img.Role, Uri: "oci://" + repo, Digest: map[string]string{h.Algorithm: h.Hex}})
	}
	for _, m := range run.Modules {
		hex, err := moduleDirHash(m.Hash)
		if err != nil {
			return nil, err
		}
		deps = append(deps, &intoto.ResourceDescriptor{Name: m.Path, Uri: "pkg:golang/" + m.Path + "@" + m.Version, Digest: map[string]string{string(intoto.AlgorithmDirHash): hex}})
	}
	var byproducts []*intoto.ResourceDescriptor
	for _, r := range steps {
		outcome := "failed"
		if r.Passed {
			outcome = "passed"
		}
		ann, err := structpb.NewStruct(map[string]any{"step": string(r.Step), "platform": r.Platform, "outcome": outcome, "summary": r.Summary})
		if err != nil {
			return nil, err
		}
		n := stepByproduct + string(r.Step)
		if r.Platform != "" {
			n += "/" + r.Platform
		}
		byproducts = append(byproducts, &intoto.ResourceDescriptor{Name: n, Annotations: ann})
	}
	builder := run.BuilderID
	if builder == "" {
		builder = DefaultBuilderID
	}
	versions := map[string]string{"goship": run.GoshipVersion}
	if run.GoVersion != "" {
		versions["go"] = run.GoVersion
	}
	meta := &slsa.BuildMetadata{InvocationId: run.InvocationID, FinishedOn: timestamppb.New(run.FinishedOn)}
	if !run.StartedOn.IsZero() {
		meta.StartedOn = timestamppb.New(run.StartedOn)
	}
	p := &slsa.Provenance{
		BuildDefinition: &slsa.BuildDefinition{BuildType: BuildType, ExternalParameters: ext, InternalParameters: internal, ResolvedDependencies: deps},
		RunDetails:      &slsa.RunDetails{Builder: &slsa.Builder{Id: builder, Version: versions}, Metadata: meta, Byproducts: byproducts},
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	return toStruct(p)
}

// toStruct re-reads a message's JSON as a predicate.
func toStruct(m proto.Message) (*structpb.Struct, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	return jsonStruct(b)
}

// jsonStruct is a JSON object as a predicate.
func jsonStruct(b []byte) (*structpb.Struct, error) {
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	return s, nil
}

// decodeSBOM decodes and checks a CycloneDX JSON SBOM with cyclonedx-go.
func decodeSBOM(b []byte) (*cdx.BOM, error) {
	if len(b) == 0 {
		return nil, errors.New("the SBOM is empty (want trivy --format cyclonedx output)")
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("the SBOM is not CycloneDX JSON: %w", err)
	}
	if bom.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("the SBOM's bomFormat is %q, want %q", bom.BOMFormat, cdx.BOMFormat)
	}
	if bom.SpecVersion < cdx.SpecVersion1_4 {
		return nil, fmt.Errorf("the SBOM is CycloneDX %s, want 1.4 or later", bom.SpecVersion)
	}
	return &bom, nil
}

// VulnPredicate is cosign's vulnerability scan predicate
// (VulnPredicateType), with cosign's field names.
type VulnPredicate struct {
	Invocation VulnInvocation `json:"invocation"`
	Scanner    VulnScanner    `json:"scanner"`
	Metadata   VulnMetadata   `json:"metadata"`
}

// VulnInvocation is the run that scanned.
type VulnInvocation struct {
	Parameters any    `json:"parameters"`
	URI        string `json:"uri"`
	EventID    string `json:"event_id"`
	BuilderID  string `json:"builder.id"`
}

// VulnScanner is the scanner, its database and its report.
type VulnScanner struct {
	URI     string          `json:"uri"`
	Version string          `json:"version"`
	DB      VulnDB          `json:"db"`
	Result  json.RawMessage `json:"result"`
}

// VulnDB is the vulnerability database a scan used.
type VulnDB struct {
	URI     string `json:"uri"`
	Version string `json:"version"`
}

// VulnMetadata bounds the scan in time.
type VulnMetadata struct {
	ScanStartedOn  time.Time `json:"scanStartedOn"`
	ScanFinishedOn time.Time `json:"scanFinishedOn"`
}

// vulnPredicate is sc's Trivy report in cosign's vuln predicate.
func vulnPredicate(sc Scan, run Run) (*structpb.Struct, error) {
	if _, err := scan.ParseReport(sc.Report); err != nil {
		return nil, fmt.Errorf("the Trivy report: %w", err)
	}
	if sc.ScannerVersion == "" {
		return nil, errors.New("the scanner version is empty (give trivy's, e.g. v0.69.3)")
	}
	builder := run.BuilderID
	if builder == "" {
		builder = DefaultBuilderID
	}
	p := VulnPredicate{
		Invocation: VulnInvocation{Parameters: map[string]any{"platform": sc.Platform}, URI: run.InvocationID, BuilderID: builder},
		Scanner: VulnScanner{
			URI: "pkg:github/aquasecurity/trivy@" + sc.ScannerVersion, Version: sc.ScannerVersion,
			DB:     VulnDB{URI: "pkg:github/aquasecurity/trivy-db", Version: sc.DBVersion},
			Result: sc.Report,
		},
		Metadata: VulnMetadata{ScanStartedOn: sc.StartedOn.UTC(), ScanFinishedOn: sc.FinishedOn.UTC()},
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return jsonStruct(b)
}
