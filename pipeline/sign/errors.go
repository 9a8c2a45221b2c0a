package sign

import (
	"errors"
	"fmt"
)

// Check is one step of Verify.
type Check string

// Verify's checks, in the order it runs them.
const (
	// CheckSignature: a signature under the digest's .sig tag verifies
	// with the key.
	CheckSignature Check = "signature"
	// CheckDigest: that signature's payload names exactly this digest.
	CheckDigest Check = "digest"
	// CheckAttestations: attestations under the .att tag verify with the
	// key and are about this digest.
	CheckAttestations Check = "attestations"
	// CheckGate: a gate statement by the key says the gate passed.
	CheckGate Check = "gate"
)

// Sentinels for errors.Is on what Verify returns (always a *VerifyError).
var (
	ErrNoSignature      = errors.New("no signature for the digest")
	ErrSignatureInvalid = errors.New("signature does not verify with the key")
	ErrWrongDigest      = errors.New("signature is for another digest")
	ErrNoGate           = errors.New("no gate attestation")
	ErrGateFailed       = errors.New("gate attestation says failed")
)

// VerifyError says which check failed, for which digest, with which key.
type VerifyError struct {
	Check Check
	// Err is one of the sentinels above.
	Err error
	// Reference is the repo@sha256:… that was verified.
	Reference string
	// KeyFingerprint is the verification key's (see Fingerprint).
	KeyFingerprint string
	// Tag is the cosign tag that was read (.sig or .att).
	Tag string
	// Rejected counts signatures or attestations found but not accepted.
	Rejected int
	// SignedDigest is, for ErrWrongDigest, the digest the signature names.
	SignedDigest string
	// Gate is, for ErrGateFailed, the failed gate statement.
	Gate *Gate
}

func (e *VerifyError) Unwrap() error { return e.Err }

func (e *VerifyError) Error() string {
	head := fmt.Sprintf("verify %s: ", e.Reference)
	switch {
	case errors.Is(e.Err, ErrNoSignature):
		return head + fmt.Sprintf("no signature for this digest (%s does not exist or is empty): publish with a signing key, or sign it with cosign sign --key", e.Tag)
	case errors.Is(e.Err, ErrSignatureInvalid):
		return head + fmt.Sprintf("signature does not verify with key %s: %d signature(s) under %s, none by this key; check that the verify key is the public half of the signing key", e.KeyFingerprint, e.Rejected, e.Tag)
	case errors.Is(e.Err, ErrWrongDigest):
		return head + fmt.Sprintf("signature is for digest %s, not this one: a signature was copied from another image; refusing", e.SignedDigest)
	case errors.Is(e.Err, ErrNoGate):
		rejected := ""
		if e.Rejected > 0 {
			rejected = fmt.Sprintf(" (%d attestation(s) there are by another key or about another digest)", e.Rejected)
		}
		return head + fmt.Sprintf("no gate attestation (%s) by key %s for this digest under %s%s: publish it with goship's ci and a signing key", GatePredicateType, e.KeyFingerprint, e.Tag, rejected)
	case errors.Is(e.Err, ErrGateFailed) && e.Gate != nil:
		g := e.Gate
		return head + fmt.Sprintf("gate attestation says failed: %s; commit %s, run %s", g.Findings(), g.Commit, g.WorkflowRun)
	}
	return head + e.Err.Error()
}
