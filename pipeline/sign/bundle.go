package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
)

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// BundleMediaType is a Sigstore bundle v0.3's media type, the artifactType
// of the referrers that hold one.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// sealStatement signs an in-toto statement into a Sigstore bundle with a
// DSSE envelope, offline: the key's hint as verification material, no
// transparency log, no timestamp authority.
func sealStatement(ctx context.Context, k *Key, stmt []byte) (*protobundle.Bundle, error) {
	return sgsign.Bundle(&sgsign.DSSEData{Data: stmt, PayloadType: InTotoPayloadType}, keypair{k}, sgsign.BundleOptions{Context: ctx})
}

// sealPayload signs bytes (cosign v2's simple-signing payload) into a
// bundle with a message signature.
func sealPayload(ctx context.Context, k *Key, data []byte) (*protobundle.Bundle, error) {
	return sgsign.Bundle(&sgsign.PlainData{Data: data}, keypair{k}, sgsign.BundleOptions{Context: ctx})
}

// candidate is one signature or attestation found for a digest, as a
// Sigstore bundle: read as one, or rebuilt from cosign v2's legacy tags.
type candidate struct {
	scheme Scheme
	// where names it for messages: a referrer's manifest digest or a tag.
	where string
	b     *sgbundle.Bundle
	// simple is the signed simple-signing payload of a legacy .sig entry
	// (the artifact of its message signature); nil for DSSE.
	simple []byte
	// hint is the key the bundle says signed it (empty in legacy entries).
	hint string
}

// fromLegacySig rebuilds a legacy .sig layer (payload, base64 signature
// annotation) as a message-signature bundle.
func fromLegacySig(where string, data, sig []byte) (candidate, error) {
	sum := sha256.Sum256(data)
	pb := &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}},
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return candidate{}, err
	}
	return candidate{scheme: SchemeLegacy, where: where, b: b, simple: data}, nil
}

// fromLegacyAtt rebuilds a legacy .att layer (a DSSE envelope) as a
// bundle.
func fromLegacyAtt(where string, envelope []byte) (candidate, error) {
	env := &protodsse.Envelope{}
	if err := protojson.Unmarshal(envelope, env); err != nil {
		return candidate{}, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	pb := &protobundle.Bundle{
		MediaType:            BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}},
		Content:              &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env},
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		return candidate{}, err
	}
	return candidate{scheme: SchemeLegacy, where: where, b: b}, nil
}

// fromBundle parses a stored bundle.
func fromBundle(scheme Scheme, where string, raw []byte) (candidate, error) {
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return candidate{}, err
	}
	return candidate{scheme: scheme, where: where, b: &b, hint: b.GetVerificationMaterial().GetPublicKey().GetHint()}, nil
}

// verdict is what checking one candidate against the trusted keys gave.
type verdict struct {
	c   candidate
	key *PublicKey // the key it verifies with; nil if none
	// statement is a verified DSSE's statement; simple a verified legacy
	// signature's payload.
	statement *intoto.Statement
	simple    *payload.SimpleContainerImage
	// tampered: it names a trusted key (hint) but does not verify with it.
	tampered bool
}

// check verifies c with each key in turn, with sigstore-go: key-based,
// no transparency log and no timestamps expected. A DSSE is checked for
// its signature only; which digest its statement names is the caller's
// check, so a statement moved from another digest is told apart from a
// bad signature.
func check(c candidate, keys []*PublicKey) verdict {
	out := verdict{c: c}
	for _, k := range keys {
		tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.v, time.Time{}, time.Time{}), nil
		})
		v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
		if err != nil {
			continue
		}
		artifact := verify.WithoutArtifactUnsafe()
		if c.simple != nil {
			artifact = verify.WithArtifact(bytes.NewReader(c.simple))
		}
		res, err := v.Verify(c.b, verify.NewPolicy(artifact, verify.WithKey()))
		if err != nil {
			if c.hint != "" && c.hint == k.hint {
				out.tampered = true
			}
			continue
		}
		out.key, out.tampered = k, false
		if c.simple != nil {
			var sci payload.SimpleContainerImage
			if err := json.Unmarshal(c.simple, &sci); err != nil || sci.Critical.Type != payload.CosignSignatureType {
				// Signed, but not a container image signature.
				out.key = nil
				continue
			}
			out.simple = &sci
		} else {
			out.statement = res.Statement
		}
		return out
	}
	return out
}

// names reports whether st is about digest (algorithm:hex).
func names(st *intoto.Statement, algorithm, hex string) bool {
	for _, s := range st.GetSubject() {
		if s.GetDigest()[algorithm] == hex {
			return true
		}
	}
	return false
}
