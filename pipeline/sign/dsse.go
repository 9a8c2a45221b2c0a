package sign

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// dsseSigner lets a sigstore signer sign DSSE envelopes. Its key id is
// empty, as in the envelopes cosign attest writes.
type dsseSigner struct{ s signature.Signer }

func (a dsseSigner) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return a.s.SignMessage(bytes.NewReader(data), options.WithContext(ctx))
}
func (a dsseSigner) KeyID() (string, error) { return "", nil }

// dsseVerifier checks DSSE signatures with a sigstore verifier. Like
// cosign's, it has no key id and no public key to derive one from, so an
// envelope's keyid hint never hides a signature from the check.
type dsseVerifier struct{ v signature.Verifier }

func (a dsseVerifier) Verify(ctx context.Context, data, sig []byte) error {
	return a.v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data), options.WithContext(ctx))
}
func (a dsseVerifier) KeyID() (string, error)   { return "", nil }
func (a dsseVerifier) Public() crypto.PublicKey { return nil }

// sealStatement signs st into a DSSE envelope, as JSON.
func sealStatement(ctx context.Context, s signature.Signer, st Statement) ([]byte, error) {
	body, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding the %s statement: %w", st.PredicateType, err)
	}
	es, err := dsse.NewEnvelopeSigner(dsseSigner{s})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, InTotoPayloadType, body)
	if err != nil {
		return nil, fmt.Errorf("signing the %s statement: %w", st.PredicateType, err)
	}
	return json.Marshal(env)
}

// openEnvelope verifies a DSSE envelope with v and returns its statement.
func openEnvelope(ctx context.Context, v signature.Verifier, raw []byte) (Statement, error) {
	var env dsse.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return Statement{}, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if env.PayloadType != InTotoPayloadType {
		return Statement{}, fmt.Errorf("envelope payload type %q, want %q", env.PayloadType, InTotoPayloadType)
	}
	ev, err := dsse.NewEnvelopeVerifier(dsseVerifier{v})
	if err != nil {
		return Statement{}, err
	}
	_, body, err := ev.VerifyAndDecode(ctx, &env)
	if err != nil {
		return Statement{}, ErrSignatureInvalid
	}
	var st Statement
	if err := json.Unmarshal(body, &st); err != nil {
		return Statement{}, fmt.Errorf("the signed payload is not an in-toto statement: %w", err)
	}
	return st, nil
}
