package sign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/goship-dev/goship/pipeline/registry"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Keys are the trusted public keys; a signature by any one of them is
	// accepted.
	Keys []*PublicKey
	// Require are the predicate types that must be attested, by a trusted
	// key, about the digest (e.g. ProvenancePredicateType).
	Require []string
	// MaxAge, if set, refuses a digest whose newest provenance's run
	// finished longer ago: an old gate replayed, or a stale scan.
	MaxAge time.Duration
	// Now is the time MaxAge counts back from; zero: time.Now.
	Now time.Time
	// Registry access: credentials, CAs, plain HTTP.
	Registry []registry.Option
}

// Verified is a digest that passed Verify.
type Verified struct {
	// Reference is the verified repo@sha256:…: deploy exactly this.
	Reference string
	Digest    string
	// KeyFingerprint is the trusted key that signed it.
	KeyFingerprint string
	// Schemes are where verified signatures and attestations were found.
	Schemes []Scheme
	// Claims are the signature's annotations (commit, ref, run for
	// goship's; -a key=value for cosign's).
	Claims map[string]string
	// PredicateTypes are the types attested by a trusted key about this
	// digest, sorted.
	PredicateTypes []string
	// Provenance is the newest verified SLSA provenance; nil if none.
	Provenance *Provenance
}

// Provenance is what a verified SLSA v1 provenance states.
type Provenance struct {
	BuildType, BuilderID, InvocationID string
	Repository, Ref, Commit            string
	GoshipVersion, GoVersion           string
	Platforms                          []string
	StartedOn, FinishedOn              time.Time
	// Dependencies are the resolved dependencies: the source, the base
	// and tool images, the modules.
	Dependencies []Dependency
	// Steps are ci's step outcomes (goship's BuildType only).
	Steps []StepResult
}

// Dependency is one resolved dependency of a build.
type Dependency struct {
	Name, URI string
	Digest    map[string]string
}

// Verify checks that ref (repo@sha256:…, or a tag, which is resolved
// once) is signed by a trusted key, that every required predicate type
// is attested by a trusted key about its digest, and that the newest
// provenance's ci passed and, with MaxAge, is recent enough. It reads the
// referrers (API or tag scheme) and cosign v2's .sig/.att tags. A refusal
// is a *VerifyError; any other error means the check could not run.
func Verify(ctx context.Context, ref string, opts VerifyOptions) (*Verified, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("verify: no trusted key given (the policy's keys, or --key)")
	}
	s := registry.NewSession(opts.Registry...)
	d, err := resolve(ctx, s, ref)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", d, err)
	}
	st := store{s: s, d: d}
	cands, err := st.bundles(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	legacy, err := st.legacy(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	cands = append(cands, legacy...)

	var fps []string
	for _, k := range opts.Keys {
		fps = append(fps, k.fingerprint)
	}
	unverified := 0
	refuse := func(kind Kind) *VerifyError {
		return &VerifyError{Kind: kind, Reference: d.String(), Keys: fps, Found: len(cands), Unverified: unverified}
	}
	if len(cands) == 0 {
		return nil, refuse(KindNoSignature)
	}

	out := &Verified{Reference: d.String(), Digest: h.String()}
	var (
		signedBy, wrongDigests []string
		provs                  []*Provenance
	)
	for _, c := range cands {
		v := check(c, opts.Keys)
		switch {
		case v.tampered:
			e := refuse(KindTampered)
			e.Where = string(c.scheme) + " " + c.where
			return nil, e
		case v.key == nil:
			unverified++
			if c.hint != "" && !slices.Contains(signedBy, c.hint) {
				signedBy = append(signedBy, c.hint)
			}
			continue
		}
		if v.simple != nil {
			if got := v.simple.Critical.Image.DockerManifestDigest; got != h.String() {
				wrongDigests = append(wrongDigests, got)
				continue
			}
			out.accept(v, stringClaims(v.simple.Optional))
			continue
		}
		stmt := v.statement
		if !names(stmt, h.Algorithm, h.Hex) {
			if stmt.GetPredicateType() == SignPredicateType {
				for _, s := range stmt.GetSubject() {
					for alg, hex := range s.GetDigest() {
						wrongDigests = append(wrongDigests, alg+":"+hex)
					}
				}
			}
			continue
		}
		if stmt.GetPredicateType() == SignPredicateType {
			claims := map[string]string{}
			for _, s := range stmt.GetSubject() {
				for k, val := range s.GetAnnotations().AsMap() {
					if str, ok := val.(string); ok {
						claims[k] = str
					}
				}
			}
			out.accept(v, claims)
			continue
		}
		out.addSchemes(c.scheme)
		if !slices.Contains(out.PredicateTypes, stmt.GetPredicateType()) {
			out.PredicateTypes = append(out.PredicateTypes, stmt.GetPredicateType())
		}
		if stmt.GetPredicateType() == ProvenancePredicateType {
			if p, err := readProvenance(stmt.GetPredicate()); err == nil {
				provs = append(provs, p)
			}
		}
	}
	if out.KeyFingerprint == "" {
		if len(wrongDigests) > 0 {
			e := refuse(KindWrongDigest)
			e.SignedDigest = wrongDigests[0]
			return nil, e
		}
		if len(out.PredicateTypes) > 0 {
			// Attested by a trusted key, but never signed.
			return nil, refuse(KindNoSignature)
		}
		e := refuse(KindWrongKey)
		e.SignedBy = signedBy
		return nil, e
	}
	slices.Sort(out.PredicateTypes)
	var missing []string
	for _, t := range opts.Require {
		if !slices.Contains(out.PredicateTypes, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		e := refuse(KindMissingPredicate)
		e.Missing = missing
		return nil, e
	}
	if len(provs) > 0 {
		slices.SortFunc(provs, func(a, b *Provenance) int { return b.FinishedOn.Compare(a.FinishedOn) })
		out.Provenance = provs[0]
	}
	if opts.MaxAge > 0 {
		if out.Provenance == nil || out.Provenance.FinishedOn.IsZero() {
			e := refuse(KindMissingPredicate)
			e.Missing = []string{ProvenancePredicateType + " (with runDetails.metadata.finishedOn, for the maximum age)"}
			return nil, e
		}
		now := opts.Now
		if now.IsZero() {
			now = time.Now()
		}
		if now.Sub(out.Provenance.FinishedOn) > opts.MaxAge {
			e := refuse(KindTooOld)
			e.FinishedOn, e.MaxAge = out.Provenance.FinishedOn, opts.MaxAge
			return nil, e
		}
	}
	if p := out.Provenance; p != nil && p.BuildType == BuildType {
		if bad := p.failedStep(); bad != nil {
			e := refuse(KindGateFailed)
			e.Step = bad
			return nil, e
		}
	}
	return out, nil
}

// accept records a verified signature of the digest.
func (v *Verified) accept(vd verdict, claims map[string]string) {
	v.addSchemes(vd.c.scheme)
	if v.KeyFingerprint == "" {
		v.KeyFingerprint = vd.key.fingerprint
		v.Claims = claims
	}
}

func (v *Verified) addSchemes(s Scheme) {
	if !slices.Contains(v.Schemes, s) {
		v.Schemes = append(v.Schemes, s)
	}
}

// failedStep is the first step of goship's gate that did not pass, or is
// missing: lint and test, then build and scan of every platform.
func (p *Provenance) failedStep() *StepResult {
	for i := range p.Steps {
		if !p.Steps[i].Passed {
			return &p.Steps[i]
		}
	}
	need := []StepResult{{Step: StepLint}, {Step: StepTest}}
	for _, pl := range p.Platforms {
		need = append(need, StepResult{Step: StepBuild, Platform: pl}, StepResult{Step: StepScan, Platform: pl})
	}
	if len(p.Platforms) == 0 {
		need = append(need, StepResult{Step: StepBuild, Platform: "(no platform recorded)"})
	}
	for _, n := range need {
		if !slices.ContainsFunc(p.Steps, func(r StepResult) bool { return r.Step == n.Step && r.Platform == n.Platform }) {
			n.Summary = "not in the provenance: the step did not run"
			return &n
		}
	}
	return nil
}

// readProvenance reads a SLSA v1 provenance predicate.
func readProvenance(pred *structpb.Struct) (*Provenance, error) {
	b, err := protojson.Marshal(pred)
	if err != nil {
		return nil, err
	}
	var sp slsa.Provenance
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &sp); err != nil {
		return nil, err
	}
	bd, rd := sp.GetBuildDefinition(), sp.GetRunDetails()
	ext := bd.GetExternalParameters().AsMap()
	internal := bd.GetInternalParameters().AsMap()
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	p := &Provenance{
		BuildType:     bd.GetBuildType(),
		BuilderID:     rd.GetBuilder().GetId(),
		InvocationID:  rd.GetMetadata().GetInvocationId(),
		Repository:    str(ext, "repository"),
		Ref:           str(ext, "ref"),
		Commit:        str(ext, "commit"),
		GoshipVersion: str(internal, "goshipVersion"),
		GoVersion:     str(internal, "goVersion"),
	}
	if t := rd.GetMetadata().GetStartedOn(); t != nil {
		p.StartedOn = t.AsTime()
	}
	if t := rd.GetMetadata().GetFinishedOn(); t != nil {
		p.FinishedOn = t.AsTime()
	}
	if list, ok := internal["platforms"].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok {
				p.Platforms = append(p.Platforms, s)
			}
		}
	}
	for _, dep := range bd.GetResolvedDependencies() {
		p.Dependencies = append(p.Dependencies, Dependency{Name: dep.GetName(), URI: dep.GetUri(), Digest: dep.GetDigest()})
	}
	for _, bp := range rd.GetByproducts() {
		if !strings.HasPrefix(bp.GetName(), stepByproduct) {
			continue
		}
		a := bp.GetAnnotations().AsMap()
		p.Steps = append(p.Steps, StepResult{Step: Step(str(a, "step")), Platform: str(a, "platform"), Passed: str(a, "outcome") == "passed", Summary: str(a, "summary")})
	}
	return p, nil
}

// stringClaims keeps the string-valued optional claims (cosign -a k=v
// writes strings).
func stringClaims(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
