package sign_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/sign"
)

func TestSignAttestVerify(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, k := newKey(t)
	ref := w.push(t, "goship/hello:v1")
	w.publish(ctx, t, ref, k, evidence(t, passingPolicy(), nil))

	got, err := sign.Verify(ctx, ref.String(), publicPEM(t, k), sign.VerifyOptions{Registry: w.opts})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.Reference != ref.String() || got.Digest != ref.DigestStr() {
		t.Errorf("verified %s (%s), want %s", got.Reference, got.Digest, ref)
	}
	if got.KeyFingerprint != k.Fingerprint() || !strings.HasPrefix(got.KeyFingerprint, "sha256:") {
		t.Errorf("fingerprint %q, want %q", got.KeyFingerprint, k.Fingerprint())
	}
	if got.Commit != testRun.Commit || got.WorkflowRun != testRun.WorkflowRun || got.GoshipVersion != testRun.GoshipVersion {
		t.Errorf("provenance %q %q %q, want %+v", got.Commit, got.WorkflowRun, got.GoshipVersion, testRun)
	}
	if got.GateOutcome != sign.GatePassed || got.Gate.Counts["HIGH"] != 1 || got.Gate.Counts["LOW"] != 1 || got.Gate.Blocking != 0 {
		t.Errorf("gate %+v, want passed with HIGH 1, LOW 1, 0 blocking", got.Gate)
	}
	if want := []sign.Check{sign.CheckSignature, sign.CheckDigest, sign.CheckAttestations, sign.CheckGate}; !slices.Equal(got.Checks, want) {
		t.Errorf("checks %v, want %v", got.Checks, want)
	}
	if want := []string{sign.CycloneDXPredicateType, sign.VulnPredicateType, sign.GatePredicateType}; !slices.Equal(got.PredicateTypes, sortedCopy(want)) {
		t.Errorf("predicate types %v, want %v", got.PredicateTypes, want)
	}
	if got.Annotations["commit"] != testRun.Commit {
		t.Errorf("signed annotations %v", got.Annotations)
	}
	// A tag resolves to the same digest.
	byTag, err := sign.Verify(ctx, ref.Context().Tag("v1").String(), publicPEM(t, k), sign.VerifyOptions{Registry: w.opts})
	if err != nil || byTag.Reference != ref.String() {
		t.Fatalf("Verify by tag = %+v, %v", byTag, err)
	}
}

func TestSignAndAttestAgainKeepOneOfEach(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, k := newKey(t)
	_, other := newKey(t)
	ref := w.push(t, "goship/hello:v1")
	w.publish(ctx, t, ref, other, evidence(t, passingPolicy(), nil))
	w.publish(ctx, t, ref, k, evidence(t, scan.DefaultPolicy(), nil)) // fails the gate

	again, err := sign.Sign(ctx, ref.String(), k, map[string]string{"commit": testRun.Commit}, w.opts...)
	if err != nil || !again.AlreadySigned {
		t.Fatalf("signing the same payload again: %+v, %v; want AlreadySigned", again, err)
	}
	// A rerun whose gate passes replaces this key's evidence, and keeps
	// the other key's.
	att, err := sign.Attest(ctx, ref.String(), k, evidence(t, passingPolicy(), nil), w.opts...)
	if err != nil || att.Replaced != 3 {
		t.Fatalf("attest again: %+v, %v; want 3 replaced", att, err)
	}
	if n := layers(t, w, ref, ".sig"); n != 2 {
		t.Errorf(".sig has %d layers, want 2 (one per key)", n)
	}
	if n := layers(t, w, ref, ".att"); n != 6 {
		t.Errorf(".att has %d layers, want 6 (three per key)", n)
	}
	for _, key := range []*sign.Key{k, other} {
		if v, err := sign.Verify(ctx, ref.String(), publicPEM(t, key), sign.VerifyOptions{Registry: w.opts}); err != nil || v.GateOutcome != sign.GatePassed {
			t.Errorf("Verify with %s: %+v, %v", key, v, err)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, k := newKey(t)
	_, other := newKey(t)
	strict := sign.VerifyOptions{Registry: w.opts}

	unsigned := w.push(t, "goship/hello:unsigned")
	byOther := w.push(t, "goship/hello:other")
	w.publish(ctx, t, byOther, other, evidence(t, passingPolicy(), nil))
	signedA := w.push(t, "goship/hello:a")
	w.publish(ctx, t, signedA, k, evidence(t, passingPolicy(), nil))
	moved := w.push(t, "goship/hello:moved")
	copyTag(t, w, signedA, moved, ".sig")
	attMoved := w.push(t, "goship/hello:att-moved")
	if _, err := sign.Sign(ctx, attMoved.String(), k, nil, w.opts...); err != nil {
		t.Fatal(err)
	}
	copyTag(t, w, signedA, attMoved, ".att")
	failed := w.push(t, "goship/hello:failed")
	w.publish(ctx, t, failed, k, evidence(t, scan.DefaultPolicy(), nil))
	noGate := w.push(t, "goship/hello:nogate")
	if _, err := sign.Sign(ctx, noGate.String(), k, nil, w.opts...); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		ref   name.Digest
		want  error
		check sign.Check
		says  []string
	}{
		{"unsigned digest", unsigned, sign.ErrNoSignature, sign.CheckSignature, []string{"no signature", unsigned.DigestStr(), "sha256-"}},
		{"signed by another key", byOther, sign.ErrSignatureInvalid, sign.CheckSignature, []string{"does not verify with key " + k.Fingerprint(), "1 signature(s)"}},
		{"signature moved from another digest", moved, sign.ErrWrongDigest, sign.CheckDigest, []string{"signature is for digest " + signedA.DigestStr(), moved.DigestStr()}},
		{"attestations moved from another digest", attMoved, sign.ErrNoGate, sign.CheckGate, []string{"no gate attestation", "3 attestation(s) there are by another key or about another digest"}},
		{"gate failed", failed, sign.ErrGateFailed, sign.CheckGate, []string{"gate attestation says failed", "1 blocking at HIGH/CRITICAL", "HIGH 1, LOW 1", testRun.Commit}},
		{"no gate attestation", noGate, sign.ErrNoGate, sign.CheckGate, []string{"no gate attestation", sign.GatePredicateType}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := sign.Verify(ctx, tc.ref.String(), publicPEM(t, k), strict)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want %v", v, err, tc.want)
			}
			var ve *sign.VerifyError
			if !errors.As(err, &ve) || ve.Check != tc.check || ve.Reference != tc.ref.String() || ve.KeyFingerprint != k.Fingerprint() {
				t.Fatalf("error %#v: want a *VerifyError for check %s on %s", err, tc.check, tc.ref)
			}
			t.Log(err)
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}

	t.Run("failed gate details are typed", func(t *testing.T) {
		_, err := sign.Verify(ctx, failed.String(), publicPEM(t, k), strict)
		var ve *sign.VerifyError
		if !errors.As(err, &ve) || ve.Gate == nil || ve.Gate.Outcome != sign.GateFailed || ve.Gate.Blocking != 1 || !slices.Equal(ve.Gate.GatedSeverities, []string{"HIGH", "CRITICAL"}) {
			t.Fatalf("gate in error: %+v", ve)
		}
	})
	t.Run("opt-ins accept what they name, nothing more", func(t *testing.T) {
		v, err := sign.Verify(ctx, failed.String(), publicPEM(t, k), sign.VerifyOptions{Registry: w.opts, AllowFailedGate: true})
		if err != nil || v.GateOutcome != sign.GateFailed || slices.Contains(v.Checks, sign.CheckGate) {
			t.Errorf("AllowFailedGate: %+v, %v", v, err)
		}
		v, err = sign.Verify(ctx, noGate.String(), publicPEM(t, k), sign.VerifyOptions{Registry: w.opts, AllowMissingGate: true})
		if err != nil || v.Gate != nil || !slices.Equal(v.Checks, []sign.Check{sign.CheckSignature, sign.CheckDigest}) {
			t.Errorf("AllowMissingGate: %+v, %v", v, err)
		}
		if _, err := sign.Verify(ctx, failed.String(), publicPEM(t, k), sign.VerifyOptions{Registry: w.opts, AllowMissingGate: true}); !errors.Is(err, sign.ErrGateFailed) {
			t.Errorf("AllowMissingGate let a failed gate through: %v", err)
		}
		if _, err := sign.Verify(ctx, moved.String(), publicPEM(t, k), sign.VerifyOptions{Registry: w.opts, AllowMissingGate: true, AllowFailedGate: true}); !errors.Is(err, sign.ErrWrongDigest) {
			t.Errorf("opt-ins let a moved signature through: %v", err)
		}
	})
}

func TestSignRefusesTagsAndMissingDigests(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, k := newKey(t)
	ref := w.push(t, "goship/hello:v1")
	if _, err := sign.Sign(ctx, ref.Context().Tag("v1").String(), k, nil, w.opts...); err == nil || !strings.Contains(err.Error(), "has no digest") {
		t.Errorf("Sign of a tag: %v", err)
	}
	missing := ref.Context().Digest("sha256:" + strings.Repeat("ab", 32))
	if _, err := sign.Sign(ctx, missing.String(), k, nil, w.opts...); err == nil || !strings.Contains(err.Error(), "not in the registry") {
		t.Errorf("Sign of a missing digest: %v", err)
	}
	if _, err := sign.Attest(ctx, missing.String(), k, evidence(t, passingPolicy(), nil), w.opts...); err == nil || !strings.Contains(err.Error(), "not in the registry") {
		t.Errorf("Attest of a missing digest: %v", err)
	}
}

// copyTag copies the cosign tag (".sig" or ".att") of from to the same
// tag of to, as an attacker who can push would.
func copyTag(t *testing.T, w *world, from, to name.Digest, suffix string) {
	t.Helper()
	src := cosignTag(t, from, suffix)
	desc, err := remote.Get(src, w.reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Tag(cosignTag(t, to, suffix), desc, w.reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}

func cosignTag(t *testing.T, d name.Digest, suffix string) name.Tag {
	t.Helper()
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + suffix)
}

func layers(t *testing.T, w *world, d name.Digest, suffix string) int {
	t.Helper()
	img, err := remote.Image(cosignTag(t, d, suffix), w.reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return len(m.Layers)
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// A wrong registry password fails every verb without being echoed.
func TestRegistryPasswordNeverInErrors(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	_, k := newKey(t)
	ref := w.push(t, "goship/hello:v1")
	wrong := "wrong-" + strings.Repeat("p4ss", 4)
	opts := []registry.Option{
		registry.WithCredentials(registry.Credentials{Username: w.reg.Username, Password: wrong}),
		registry.WithTrust(registry.Trust{CAPEM: w.reg.CAPEM}),
	}
	_, signErr := sign.Sign(ctx, ref.String(), k, nil, opts...)
	_, attErr := sign.Attest(ctx, ref.String(), k, evidence(t, passingPolicy(), nil), opts...)
	_, verErr := sign.Verify(ctx, ref.String(), publicPEM(t, k), sign.VerifyOptions{Registry: opts})
	for _, err := range []error{signErr, attErr, verErr} {
		if err == nil {
			t.Fatal("a verb succeeded with a wrong registry password")
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("error echoes the password: %v", err)
		}
		var ve *sign.VerifyError
		if errors.As(err, &ve) {
			t.Errorf("a registry failure reads as a verification verdict: %v", err)
		}
	}
}
