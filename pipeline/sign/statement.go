package sign

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/goship-dev/goship/pipeline/scan"
)

// Predicate types goship attests.
const (
	// CycloneDXPredicateType is cosign's --type cyclonedx.
	CycloneDXPredicateType = "https://cyclonedx.org/bom"
	// VulnPredicateType is cosign's --type vuln.
	VulnPredicateType = "https://cosign.sigstore.dev/attestation/vuln/v1"
	// GatePredicateType is goship's gate statement (see Gate).
	GatePredicateType = "https://goship.dev/gate/v1"
)

// StatementType is the in-toto statement version goship writes.
const StatementType = "https://in-toto.io/Statement/v1"

// Statement is an in-toto statement: a predicate about subjects.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is an artifact a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// names reports whether the statement is about digest d.
func (st Statement) names(d v1.Hash) bool {
	for _, s := range st.Subject {
		if s.Digest[d.Algorithm] == d.Hex {
			return true
		}
	}
	return false
}

// Predicate is one piece of evidence for Attest.
type Predicate struct {
	Type string
	Body json.RawMessage
}

func statementFor(d name.Digest, p Predicate) (Statement, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return Statement{}, err
	}
	return Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: d.Context().Name(), Digest: map[string]string{h.Algorithm: h.Hex}}},
		PredicateType: p.Type,
		Predicate:     p.Body,
	}, nil
}

// SBOMPredicate attests a CycloneDX JSON SBOM as it is.
func SBOMPredicate(cyclonedx []byte) (Predicate, error) {
	var head struct {
		BOMFormat string `json:"bomFormat"`
	}
	if err := json.Unmarshal(cyclonedx, &head); err != nil {
		return Predicate{}, fmt.Errorf("SBOM attestation: not JSON: %w", err)
	}
	if head.BOMFormat != "CycloneDX" {
		return Predicate{}, fmt.Errorf("SBOM attestation: bomFormat is %q, want CycloneDX (goship writes <binary>%s files)", head.BOMFormat, scan.SBOMSuffix)
	}
	return Predicate{Type: CycloneDXPredicateType, Body: cyclonedx}, nil
}

// VulnScan describes the scan behind a Trivy report.
type VulnScan struct {
	// Report is Trivy's JSON report.
	Report []byte
	// ScannerVersion is trivy's version, e.g. v0.69.3.
	ScannerVersion string
	// DBVersion identifies the vulnerability DB used (e.g. its UpdatedAt).
	DBVersion string
	// WorkflowRun is the CI run's URL or id.
	WorkflowRun           string
	StartedOn, FinishedOn time.Time
}

// VulnPredicate attests a Trivy report in cosign's vuln predicate, which
// `cosign verify-attestation --type vuln` reads.
func VulnPredicate(s VulnScan) (Predicate, error) {
	if !json.Valid(s.Report) {
		return Predicate{}, fmt.Errorf("vulnerability attestation: the Trivy report is not JSON (want trivy --format json output)")
	}
	type db struct {
		URI     string `json:"uri"`
		Version string `json:"version"`
	}
	body := struct {
		Invocation struct {
			Parameters any    `json:"parameters"`
			URI        string `json:"uri"`
			EventID    string `json:"event_id"`
			BuilderID  string `json:"builder.id"`
		} `json:"invocation"`
		Scanner struct {
			URI     string          `json:"uri"`
			Version string          `json:"version"`
			DB      db              `json:"db"`
			Result  json.RawMessage `json:"result"`
		} `json:"scanner"`
		Metadata struct {
			ScanStartedOn  time.Time `json:"scanStartedOn"`
			ScanFinishedOn time.Time `json:"scanFinishedOn"`
		} `json:"metadata"`
	}{}
	body.Invocation.URI = s.WorkflowRun
	body.Invocation.BuilderID = "https://goship.dev"
	body.Scanner.URI = "pkg:github/aquasecurity/trivy@" + s.ScannerVersion
	body.Scanner.Version = s.ScannerVersion
	body.Scanner.DB = db{URI: "pkg:github/aquasecurity/trivy-db", Version: s.DBVersion}
	body.Scanner.Result = s.Report
	body.Metadata.ScanStartedOn = s.StartedOn.UTC()
	body.Metadata.ScanFinishedOn = s.FinishedOn.UTC()
	b, err := json.Marshal(body)
	if err != nil {
		return Predicate{}, fmt.Errorf("vulnerability attestation: %w", err)
	}
	return Predicate{Type: VulnPredicateType, Body: b}, nil
}
