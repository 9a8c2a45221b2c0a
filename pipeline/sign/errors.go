package sign

import (
	"fmt"
	"strings"
	"time"
)

// Kind is which check of Verify refused a digest.
type Kind string

// Verify's refusals.
const (
	// KindNoSignature: nothing is stored for the digest in any scheme.
	KindNoSignature Kind = "no-signature"
	// KindWrongKey: signatures are there, none by a trusted key.
	KindWrongKey Kind = "wrong-key"
	// KindTampered: a signature or attestation names a trusted key but
	// does not verify with it: it was altered after signing.
	KindTampered Kind = "tampered"
	// KindWrongDigest: a trusted key signed another digest; the signature
	// was copied here.
	KindWrongDigest Kind = "wrong-digest"
	// KindMissingPredicate: a required attestation is not there (by a
	// trusted key, about this digest).
	KindMissingPredicate Kind = "missing-predicate"
	// KindGateFailed: the provenance says a ci step did not pass.
	KindGateFailed Kind = "gate-failed"
	// KindTooOld: the newest provenance is older than the maximum age.
	KindTooOld Kind = "too-old"
)

// VerifyError is Verify's refusal of a digest. Errors that are not a
// *VerifyError mean the check could not run (registry, input).
type VerifyError struct {
	Kind Kind
	// Reference is the repo@sha256:… that was checked.
	Reference string
	// Keys are the fingerprints of the trusted keys.
	Keys []string
	// Found counts the signatures and attestations read for the digest;
	// Unverified those of them that verify with no trusted key.
	Found, Unverified int
	// Where names the referrer or tag of a tampered entry.
	Where string
	// SignedBy are the key hints of signatures by other keys (wrong key).
	SignedBy []string
	// SignedDigest is the digest a copied signature names (wrong digest).
	SignedDigest string
	// Missing are the predicate types not attested (missing predicate).
	Missing []string
	// Step is the step that did not pass (gate failed).
	Step *StepResult
	// FinishedOn is when the newest provenance's run finished, MaxAge the
	// limit it broke (too old).
	FinishedOn time.Time
	MaxAge     time.Duration
}

func (e *VerifyError) Error() string {
	head := "verify " + e.Reference + ": "
	keys := strings.Join(e.Keys, ", ")
	switch e.Kind {
	case KindNoSignature:
		return head + fmt.Sprintf("no signature for this digest (%d attestation(s), but no image signature among its referrers, under its referrers tag or its cosign .sig tag): publish it with --sign-key, or sign it with cosign sign --key", e.Found)
	case KindWrongKey:
		by := ""
		if len(e.SignedBy) > 0 {
			by = " (signed by key id " + strings.Join(e.SignedBy, ", ") + ")"
		}
		return head + fmt.Sprintf("signed, but not by a trusted key: %d signature(s) and attestation(s) found%s, none verifies with %s; either another key signed it, or it was altered after signing. Check that the policy's key is the public half of the signing key", e.Found, by, keys)
	case KindTampered:
		return head + fmt.Sprintf("%s names trusted key %s but does not verify with it: it was altered after signing; refusing. Find out who can push to this repository, and sign the image again from a passing ci", e.Where, keys)
	case KindWrongDigest:
		return head + fmt.Sprintf("the signature by %s is for digest %s, not this one: it was copied from another image; refusing", keys, e.SignedDigest)
	case KindMissingPredicate:
		unverified := ""
		if e.Unverified > 0 {
			unverified = fmt.Sprintf(" (%d signature(s) or attestation(s) here verify with no trusted key: by another key, or altered after signing)", e.Unverified)
		}
		return head + fmt.Sprintf("signed, but not attested %s by %s for this digest%s: publish it with goship's ci and --sign-key (which attests provenance, SBOM and scan), or drop the type from the policy's requirements", strings.Join(e.Missing, ", "), keys, unverified)
	case KindGateFailed:
		return head + fmt.Sprintf("the provenance says ci did not pass: %s; release only from a passing ci", e.stepText())
	case KindTooOld:
		return head + fmt.Sprintf("the newest provenance is from a run that finished %s, older than the maximum age %s: a gate this old may be a replay, and its scan is stale; run ci and publish again to sign a fresh gate", e.FinishedOn.UTC().Format(time.RFC3339), e.MaxAge)
	}
	return head + string(e.Kind)
}

func (e *VerifyError) stepText() string {
	if e.Step == nil {
		return "no step results"
	}
	s := string(e.Step.Step)
	if e.Step.Platform != "" {
		s += " for " + e.Step.Platform
	}
	if e.Step.Summary == "" {
		if e.Step.Passed {
			return s + " passed"
		}
		return s + " did not pass"
	}
	return s + " did not pass (" + e.Step.Summary + ")"
}
