package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/goship-dev/goship/pipeline/registry"
)

// VerifyOptions configure Verify. The zero value is the strictest.
type VerifyOptions struct {
	// Registry access: credentials, CAs, plain HTTP.
	Registry []registry.Option
	// AllowMissingGate accepts a signed digest with no gate statement
	// (e.g. an image signed by hand with cosign sign).
	AllowMissingGate bool
	// AllowFailedGate accepts a gate statement whose outcome is failed.
	AllowFailedGate bool
}

// Verified is a digest that passed Verify.
type Verified struct {
	// Reference is the verified repo@sha256:…: deploy exactly this.
	Reference string
	Digest    string
	// KeyFingerprint identifies the key that signed (see Fingerprint).
	KeyFingerprint string
	// Annotations are the signed payload's optional claims.
	Annotations map[string]string
	// Commit, WorkflowRun, GoshipVersion and GateOutcome come from the
	// gate statement (empty if none was required and none was found).
	Commit, WorkflowRun, GoshipVersion string
	GateOutcome                        GateOutcome
	Gate                               *Gate
	// PredicateTypes of the attestations that verified, sorted.
	PredicateTypes []string
	// Checks that passed, in order.
	Checks []Check
}

// Verify checks that ref (repo@sha256:…, or a tag, which is resolved
// once) carries a signature by publicKeyPEM's key whose payload names
// exactly its digest, and a gate statement by the same key that says
// passed. Failures are *VerifyError, matching ErrNoSignature,
// ErrSignatureInvalid, ErrWrongDigest, ErrNoGate or ErrGateFailed with
// errors.Is; other errors mean the check could not run (registry, key).
func Verify(ctx context.Context, ref string, publicKeyPEM []byte, opts VerifyOptions) (*Verified, error) {
	pk, err := ParsePublicKey(publicKeyPEM)
	if err != nil {
		return nil, err
	}
	s := registry.NewSession(opts.Registry...)
	d, err := resolve(ctx, s, ref)
	if err != nil {
		return nil, err
	}
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", d, err)
	}
	v := verification{s: s, pk: pk, d: d, h: h}
	out := &Verified{Reference: d.String(), Digest: h.String(), KeyFingerprint: pk.fingerprint}
	if out.Annotations, err = v.signature(ctx); err != nil {
		return nil, err
	}
	out.Checks = append(out.Checks, CheckSignature, CheckDigest)
	gates, rejected, err := v.attestations(ctx, out)
	if err != nil {
		return nil, err
	}
	if len(out.PredicateTypes) > 0 {
		out.Checks = append(out.Checks, CheckAttestations)
	}
	if len(gates) == 0 {
		if opts.AllowMissingGate {
			return out, nil
		}
		e := v.fail(CheckGate, ErrNoGate, attSuffix)
		e.Rejected = rejected
		return nil, e
	}
	gate := decisive(gates)
	if gate.Outcome != GatePassed && !opts.AllowFailedGate {
		e := v.fail(CheckGate, ErrGateFailed, attSuffix)
		e.Gate = &gate
		return nil, e
	}
	if gate.Outcome == GatePassed {
		out.Checks = append(out.Checks, CheckGate)
	}
	out.Gate = &gate
	out.Commit, out.WorkflowRun, out.GoshipVersion, out.GateOutcome = gate.Commit, gate.WorkflowRun, gate.GoshipVersion, gate.Outcome
	return out, nil
}

// verification is one Verify call's digest, key and registry session.
type verification struct {
	s  registry.Session
	pk *PublicKey
	d  name.Digest
	h  v1.Hash
}

func (v verification) fail(c Check, sentinel error, suffix string) *VerifyError {
	tag, _ := tagFor(v.d, suffix) // v.h parsed, so the tag is valid
	return &VerifyError{Check: c, Err: sentinel, Reference: v.d.String(), KeyFingerprint: v.pk.fingerprint, Tag: tag.String()}
}

// signature finds a signature by the key whose payload names this digest
// and returns its optional claims.
func (v verification) signature(ctx context.Context) (map[string]string, error) {
	tag, err := tagFor(v.d, sigSuffix)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	sigs, err := readEntries(ctx, v.s, tag)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", v.d, err)
	}
	if len(sigs) == 0 {
		return nil, v.fail(CheckSignature, ErrNoSignature, sigSuffix)
	}
	var wrong string
	for _, e := range sigs {
		claim, err := signedClaim(ctx, v.pk.v, e)
		if err != nil {
			continue
		}
		if claim.Critical.Image.DockerManifestDigest != v.h.String() {
			wrong = claim.Critical.Image.DockerManifestDigest
			continue
		}
		return stringClaims(claim.Optional), nil
	}
	if wrong != "" {
		e := v.fail(CheckDigest, ErrWrongDigest, sigSuffix)
		e.SignedDigest, e.Rejected = wrong, len(sigs)
		return nil, e
	}
	e := v.fail(CheckSignature, ErrSignatureInvalid, sigSuffix)
	e.Rejected = len(sigs)
	return nil, e
}

// attestations reads the statements by the key about this digest into
// out.PredicateTypes and returns the gate statements among them, and how
// many attestations were rejected.
func (v verification) attestations(ctx context.Context, out *Verified) ([]Gate, int, error) {
	tag, err := tagFor(v.d, attSuffix)
	if err != nil {
		return nil, 0, fmt.Errorf("verify: %w", err)
	}
	atts, err := readEntries(ctx, v.s, tag)
	if err != nil {
		return nil, 0, fmt.Errorf("verify %s: %w", v.d, err)
	}
	var gates []Gate
	rejected := 0
	for _, e := range atts {
		st, err := openEnvelope(ctx, v.pk.v, e.payload)
		if err != nil || !st.names(v.h) {
			rejected++
			continue
		}
		if !slices.Contains(out.PredicateTypes, st.PredicateType) {
			out.PredicateTypes = append(out.PredicateTypes, st.PredicateType)
		}
		if st.PredicateType != GatePredicateType {
			continue
		}
		var g Gate
		if err := json.Unmarshal(st.Predicate, &g); err != nil || g.Validate() != nil {
			rejected++
			continue
		}
		gates = append(gates, g)
	}
	slices.Sort(out.PredicateTypes)
	return gates, rejected, nil
}

// decisive picks the gate statement that decides: Attest keeps one per
// key, but should there be more, any failed one fails, else the newest.
func decisive(gates []Gate) Gate {
	gate := gates[0]
	for _, g := range gates[1:] {
		if g.Outcome == GateFailed || (gate.Outcome == GatePassed && g.FinishedAt.After(gate.FinishedAt)) {
			gate = g
		}
	}
	return gate
}

// resolve pins ref to a digest: as given, or the tag's digest now.
func resolve(ctx context.Context, s registry.Session, ref string) (name.Digest, error) {
	r, err := s.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("verify: parsing reference %q: %w", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(r, s.Remote(ctx)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("verify %s: resolving the tag: %w", ref, s.Redact(err))
	}
	return r.Context().Digest(desc.Digest.String()), nil
}

// verifySimple checks a .sig entry's signature over its payload.
func verifySimple(ctx context.Context, v signature.Verifier, e entry) error {
	b64 := e.annotations[SignatureAnnotation]
	if b64 == "" {
		return ErrSignatureInvalid
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ErrSignatureInvalid
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(e.payload), options.WithContext(ctx)); err != nil {
		return ErrSignatureInvalid
	}
	return nil
}

// signedClaim verifies a .sig entry and decodes its payload.
func signedClaim(ctx context.Context, v signature.Verifier, e entry) (payload.SimpleContainerImage, error) {
	var c payload.SimpleContainerImage
	if err := verifySimple(ctx, v, e); err != nil {
		return c, err
	}
	if err := json.Unmarshal(e.payload, &c); err != nil {
		return c, fmt.Errorf("signed payload is not simple-signing JSON: %w", err)
	}
	if c.Critical.Type != payload.CosignSignatureType {
		return c, errors.New("signed payload is not a cosign container image signature")
	}
	return c, nil
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
