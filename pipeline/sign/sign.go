package sign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/goship-dev/goship/pipeline/registry"
)

// Options configure Sign.
type Options struct {
	// Registry access: credentials, CAs, plain HTTP.
	Registry []registry.Option
	// Legacy writes cosign v2's .sig/.att tags instead of bundles, for a
	// registry known to refuse OCI 1.1 artifacts (Sign also falls back to
	// them by itself when the registry refuses one).
	Legacy bool
	// Now stamps the referrers' creation annotation; zero: time.Now.
	Now time.Time
}

// Signed is what Sign stored.
type Signed struct {
	// Reference is the signed repo@sha256:….
	Reference string
	// KeyFingerprint identifies the signing key (see Fingerprint).
	KeyFingerprint string
	// Scheme is where it was stored.
	Scheme Scheme
	// Refused is set when the registry refused an OCI 1.1 artifact
	// manifest and Sign wrote cosign v2's tags instead: the registry's
	// answer.
	Refused string
	// PredicateTypes attested, in order (the signature's statement first).
	PredicateTypes []string
	// Written are the referrer manifest digests (bundle schemes) or the
	// tags (legacy) written.
	Written []string
}

// Sign signs the image ref (repo@sha256:…) with key and attests its ci
// evidence, after checking that ci passed for it: lint and test, and the
// build and scan of every platform of the image as the registry holds it.
// Otherwise it refuses with a *GateError and writes nothing.
//
// It writes one Sigstore bundle (DSSE, in-toto statement) per statement:
// the image signature (cosign v3's sign statement), the SLSA v1
// provenance of the run, and per platform the CycloneDX SBOM and the
// Trivy report in cosign's vuln predicate. They are OCI 1.1 referrers
// of ref (SchemeReferrers or SchemeReferrersTag, whichever the registry
// supports). A registry that refuses artifact manifests gets cosign v2's
// tags (SchemeLegacy) instead, which cosign v2 and v3 both read.
func Sign(ctx context.Context, ref string, key *Key, ev Evidence, opts Options) (*Signed, error) {
	if key == nil {
		return nil, errors.New("sign: no signing key")
	}
	s := registry.NewSession(opts.Registry...)
	d, err := parseDigest(s, ref)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	st := store{s: s, d: d}
	desc, platforms, err := st.platforms(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	scans, err := checkGate(d.String(), ev, platforms)
	if err != nil {
		return nil, err
	}
	return write(ctx, st, desc, platforms, scans, key, ev, opts)
}

// write signs and stores the statements of a gated signing.
func write(ctx context.Context, st store, desc v1.Descriptor, platforms []platform, scans []Scan, key *Key, ev Evidence, opts Options) (*Signed, error) {
	d := st.d
	subj := subjects{repo: d.Context().Name(), digest: desc.Digest, platforms: platforms}
	stmts, err := statements(subj, ev, platforms, scans)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", d, err)
	}
	out := &Signed{Reference: d.String(), KeyFingerprint: key.fingerprint}
	var bundles []*protobundle.Bundle
	for _, stm := range stmts {
		b, err := sealStatement(ctx, key, stm.json)
		if err != nil {
			return nil, fmt.Errorf("sign %s with %s: the %s statement: %w", d, key.fingerprint, stm.predicateType, err)
		}
		bundles = append(bundles, b)
		out.PredicateTypes = append(out.PredicateTypes, stm.predicateType)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if !opts.Legacy {
		err := writeBundles(ctx, st, desc, stmts, bundles, now, out)
		var refused *errArtifactsRefused
		if !errors.As(err, &refused) {
			if err != nil {
				return nil, fmt.Errorf("sign %s: %w", d, err)
			}
			return out, nil
		}
		// Nothing was listed yet: the first referrer was refused.
		out.Refused = refused.Error()
		out.Written = nil
	}
	if err := writeLegacy(ctx, st, key, ev.Run, stmts, bundles, out); err != nil {
		return nil, fmt.Errorf("sign %s: %w", d, err)
	}
	return out, nil
}

// stmt is one in-toto statement to sign.
type stmt struct {
	predicateType string
	json          []byte
}

// statements are the signing's statements, the signature's first.
func statements(subj subjects, ev Evidence, platforms []platform, scans []Scan) ([]stmt, error) {
	sig, err := signStatement(subj, ev.Run)
	if err != nil {
		return nil, err
	}
	out := []stmt{{SignPredicateType, sig}}
	prov, err := provenance(ev.Run, ev.Steps, platforms)
	if err != nil {
		return nil, err
	}
	b, err := statement(subj.list(nil), ProvenancePredicateType, prov)
	if err != nil {
		return nil, err
	}
	out = append(out, stmt{ProvenancePredicateType, b})
	for i, sc := range scans {
		p := platforms[i]
		bom, err := jsonStruct(sc.SBOM)
		if err != nil {
			return nil, fmt.Errorf("the SBOM of %s: %w", p.name, err)
		}
		if b, err = statement(subj.list(&p), CycloneDXPredicateType, bom); err != nil {
			return nil, err
		}
		out = append(out, stmt{CycloneDXPredicateType, b})
		vuln, err := vulnPredicate(sc, ev.Run)
		if err != nil {
			return nil, fmt.Errorf("the scan of %s: %w", p.name, err)
		}
		if b, err = statement(subj.list(&p), VulnPredicateType, vuln); err != nil {
			return nil, err
		}
		out = append(out, stmt{VulnPredicateType, b})
	}
	return out, nil
}

// writeBundles stores each bundle as a referrer of the image.
func writeBundles(ctx context.Context, st store, subject v1.Descriptor, stmts []stmt, bundles []*protobundle.Bundle, now time.Time, out *Signed) error {
	for i, b := range bundles {
		raw, err := protojson.Marshal(b)
		if err != nil {
			return err
		}
		h, err := st.writeReferrer(ctx, subject, raw, stmts[i].predicateType, now)
		if err != nil {
			return err
		}
		out.Written = append(out.Written, h.String())
	}
	// Which scheme listed them: the registry's API, or the tag
	// go-containerregistry maintains.
	scheme, _, err := st.referrers(ctx)
	if err != nil {
		return err
	}
	out.Scheme = scheme
	return nil
}

// writeLegacy stores the signing in cosign v2's tags: the signature as a
// simple-signing payload under .sig, each attestation's DSSE envelope
// under .att.
func writeLegacy(ctx context.Context, st store, key *Key, run Run, stmts []stmt, bundles []*protobundle.Bundle, out *Signed) error {
	claims := map[string]any{"commit": run.Commit, "ref": run.Ref}
	if run.InvocationID != "" {
		claims["run"] = run.InvocationID
	}
	body, err := payload.Cosign{Image: st.d, Annotations: claims}.MarshalJSON()
	if err != nil {
		return err
	}
	sb, err := sealPayload(ctx, key, body)
	if err != nil {
		return fmt.Errorf("signing with %s: %w", key.fingerprint, err)
	}
	sigTag := legacyTag(st.d, "sig")
	sig := legacyEntry{data: body, mediaType: simpleSigningMediaType, annotations: map[string]string{
		SignatureAnnotation: base64.StdEncoding.EncodeToString(sb.GetMessageSignature().GetSignature()),
	}}
	if err := st.writeLegacy(ctx, sigTag, []legacyEntry{sig}); err != nil {
		return err
	}
	var atts []legacyEntry
	for i, b := range bundles[1:] {
		env, err := protojson.Marshal(b.GetDsseEnvelope())
		if err != nil {
			return err
		}
		atts = append(atts, legacyEntry{data: env, mediaType: dsseMediaType, annotations: map[string]string{
			SignatureAnnotation: "", PredicateTypeAnnotation: stmts[i+1].predicateType,
		}})
	}
	attTag := legacyTag(st.d, "att")
	if err := st.writeLegacy(ctx, attTag, atts); err != nil {
		return err
	}
	out.Scheme = SchemeLegacy
	out.Written = []string{sigTag.String(), attTag.String()}
	return nil
}

// parseDigest parses ref, which must pin a digest: a tag can move between
// signing and deploying.
func parseDigest(s registry.Session, ref string) (name.Digest, error) {
	r, err := s.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	d, ok := r.(name.Digest)
	if !ok {
		return name.Digest{}, fmt.Errorf("reference %q has no digest: give repo@sha256:… (publish prints it); a tag can move", ref)
	}
	return d, nil
}

// resolve pins ref to a digest: as given, or the tag's digest now.
func resolve(ctx context.Context, s registry.Session, ref string) (name.Digest, error) {
	r, err := s.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	if d, ok := r.(name.Digest); ok {
		return d, nil
	}
	desc, err := remote.Head(r, s.Remote(ctx)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving the tag %s: %w", ref, s.Redact(err))
	}
	return r.Context().Digest(desc.Digest.String()), nil
}
