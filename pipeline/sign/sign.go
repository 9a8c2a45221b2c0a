package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/goship-dev/goship/pipeline/registry"
)

// Signature is what Sign stored.
type Signature struct {
	// Reference is the signed repo@sha256:….
	Reference string
	// Tag holds the signatures of Reference (repo:sha256-<hex>.sig).
	Tag string
	// KeyFingerprint identifies the signing key (see Fingerprint).
	KeyFingerprint string
	// AlreadySigned: the same payload signed by this key was there, so
	// nothing was written.
	AlreadySigned bool
}

// Sign signs the manifest digest ref (repo@sha256:…) with key, as `cosign
// sign --key` does: a simple-signing payload naming the digest, with
// annotations as its optional claims, appended to the signatures already
// under the digest's .sig tag. ref must exist in the registry.
func Sign(ctx context.Context, ref string, key *Key, annotations map[string]string, opts ...registry.Option) (*Signature, error) {
	s := registry.NewSession(opts...)
	d, err := parseDigest(s, ref)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if _, err := remote.Head(d, s.Remote(ctx)...); err != nil {
		return nil, fmt.Errorf("sign %s: the digest is not in the registry (push it first): %w", d, s.Redact(err))
	}
	claims := map[string]any{}
	for k, v := range annotations {
		claims[k] = v
	}
	if len(claims) == 0 {
		claims = nil
	}
	body, err := payload.Cosign{Image: d, Annotations: claims}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("sign %s: payload: %w", d, err)
	}
	sig, err := key.sv.SignMessage(bytes.NewReader(body), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign %s with %s: %w", d, key.fingerprint, err)
	}
	tag, err := tagFor(d, sigSuffix)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	out := &Signature{Reference: d.String(), Tag: tag.String(), KeyFingerprint: key.fingerprint}
	existing, err := readEntries(ctx, s, tag)
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", d, err)
	}
	for _, e := range existing {
		// ECDSA signatures differ on every run: a duplicate is the same
		// payload with any signature by this key, as cosign dedupes.
		if bytes.Equal(e.payload, body) && verifySimple(ctx, key.sv, e) == nil {
			out.AlreadySigned = true
			return out, nil
		}
	}
	add := entry{
		payload:     body,
		mediaType:   SimpleSigningMediaType,
		annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	}
	if err := writeEntries(ctx, s, tag, append(existing, add)); err != nil {
		return nil, fmt.Errorf("sign %s: %w", d, err)
	}
	return out, nil
}
