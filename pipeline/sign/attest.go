package sign

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goship-dev/goship/pipeline/registry"
)

// Attested is what Attest stored.
type Attested struct {
	// Reference is the attested repo@sha256:….
	Reference string
	// Tag holds the attestations (repo:sha256-<hex>.att).
	Tag string
	// PredicateTypes written, in order.
	PredicateTypes []string
	// Replaced counts earlier attestations of the same types by the same
	// key that were dropped: a rerun's evidence replaces the old one, so
	// a digest never carries both a failed and a passed gate of one key.
	Replaced int
}

// Attest signs one in-toto statement per predicate about ref
// (repo@sha256:…) into DSSE envelopes and stores them under the digest's
// .att tag, as `cosign attest --key --type <uri>` does. Attestations by
// other keys, or of other types, are kept.
func Attest(ctx context.Context, ref string, key *Key, preds []Predicate, opts ...registry.Option) (*Attested, error) {
	s := registry.NewSession(opts...)
	d, err := parseDigest(s, ref)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	if len(preds) == 0 {
		return nil, fmt.Errorf("attest %s: no predicates given", d)
	}
	if _, err := remote.Head(d, s.Remote(ctx)...); err != nil {
		return nil, fmt.Errorf("attest %s: the digest is not in the registry (push it first): %w", d, s.Redact(err))
	}
	out := &Attested{Reference: d.String()}
	var add []entry
	for _, p := range preds {
		if slices.Contains(out.PredicateTypes, p.Type) {
			return nil, fmt.Errorf("attest %s: predicate type %s given twice", d, p.Type)
		}
		st, err := statementFor(d, p)
		if err != nil {
			return nil, fmt.Errorf("attest %s: %w", d, err)
		}
		env, err := sealStatement(ctx, key.sv, st)
		if err != nil {
			return nil, fmt.Errorf("attest %s with %s: %w", d, key.fingerprint, err)
		}
		add = append(add, entry{
			payload:   env,
			mediaType: DSSEMediaType,
			annotations: map[string]string{
				SignatureAnnotation:     "",
				PredicateTypeAnnotation: p.Type,
			},
		})
		out.PredicateTypes = append(out.PredicateTypes, p.Type)
	}
	tag, err := tagFor(d, attSuffix)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	out.Tag = tag.String()
	existing, err := readEntries(ctx, s, tag)
	if err != nil {
		return nil, fmt.Errorf("attest %s: %w", d, err)
	}
	var keep []entry
	for _, e := range existing {
		if slices.Contains(out.PredicateTypes, e.annotations[PredicateTypeAnnotation]) {
			if _, err := openEnvelope(ctx, key.sv, e.payload); err == nil {
				out.Replaced++
				continue
			}
		}
		keep = append(keep, e)
	}
	if err := writeEntries(ctx, s, tag, append(keep, add...)); err != nil {
		return nil, fmt.Errorf("attest %s: %w", d, err)
	}
	return out, nil
}
