package sign_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/sign"
	"github.com/goship-dev/goship/pipeline/sign/signtest"
)

// statement is the part of an in-toto statement the tests read.
type statement struct {
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

func (s statement) names(d name.Digest) bool {
	for _, sub := range s.Subject {
		if "sha256:"+sub.Digest["sha256"] == d.DigestStr() {
			return true
		}
	}
	return false
}

// statements decodes the DSSE envelopes cosign verify-attestation prints,
// one JSON object per line.
func statements(t *testing.T, out string) []statement {
	t.Helper()
	var sts []statement
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var env struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
		}
		if err := dec.Decode(&env); err != nil {
			t.Fatalf("cosign verify-attestation printed %q: %v", out, err)
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var st statement
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		sts = append(sts, st)
	}
	return sts
}

// The matrix, goship to cosign: what goship signs (a two-platform index)
// passes cosign verify and verify-attestation --type slsaprovenance1,
// cyclonedx and vuln of cosign v2.6.5 and v3.1.3 on each kind of
// registry; a tampered attestation, another key and an unsigned image
// fail in cosign as they do in goship.
func TestCosignVerifiesGoship(t *testing.T) {
	ctx := context.Background()
	const password = "a cosign key password"
	for _, kind := range []string{signtest.KindRegistry2, signtest.KindReferrersAPI, signtest.KindACR} {
		for _, cv := range signtest.Cosigns {
			t.Run(kind+"/"+cv.Name, func(t *testing.T) {
				w := signtest.NewWorld(t, kind)
				c := signtest.NewCosign(t, w, cv.Name, cv.Major, password)
				k, pub := c.KeyPair(t, "goship", password)
				_, otherPub := c.KeyPair(t, "other", password)
				p := w.PushIndex(t, "acme/hello:v1")
				signed := w.SignNow(ctx, t, p, k)
				t.Logf("goship stored %s", signed.Scheme)

				out := c.MustRun(t, append(append([]string{"verify"}, c.VerifyFlags(pub)...), p.Ref.String())...)
				if !strings.Contains(out, p.Ref.DigestStr()) {
					t.Errorf("cosign verify printed no claim about %s:\n%s", p.Ref.DigestStr(), out)
				}
				for _, typ := range []struct{ flag, uri string }{
					{"slsaprovenance1", sign.ProvenancePredicateType},
					{"cyclonedx", sign.CycloneDXPredicateType},
					{"vuln", sign.VulnPredicateType},
				} {
					out := c.MustRun(t, append(append([]string{"verify-attestation"}, c.VerifyFlags(pub)...), "--type", typ.flag, p.Ref.String())...)
					n := 0
					for _, st := range statements(t, out) {
						if st.PredicateType != typ.uri {
							continue
						}
						n++
						if !st.names(p.Ref) {
							t.Errorf("the %s statement cosign verified is not about %s", typ.flag, p.Ref)
						}
						if typ.uri == sign.ProvenancePredicateType {
							var prov struct {
								BuildDefinition struct {
									BuildType          string            `json:"buildType"`
									ExternalParameters map[string]string `json:"externalParameters"`
								} `json:"buildDefinition"`
							}
							if err := json.Unmarshal(st.Predicate, &prov); err != nil || prov.BuildDefinition.BuildType != sign.BuildType || prov.BuildDefinition.ExternalParameters["commit"] != signtest.Run.Commit {
								t.Errorf("provenance cosign verified: %+v, %v", prov, err)
							}
						}
					}
					// One SBOM and one scan per platform, one provenance.
					want := 2
					if typ.uri == sign.ProvenancePredicateType {
						want = 1
					}
					if n != want {
						t.Errorf("cosign verify-attestation --type %s: %d statements of the type, want %d", typ.flag, n, want)
					}
				}

				// The flags each version needs (docs/signing.md): goship writes
				// no transparency-log entry, so without
				// --insecure-ignore-tlog=true both refuse a bundle; v2.6.5
				// reads bundles only with a trusted root (offline: the empty
				// one of VerifyFlags), v3.1.3 needs none with a key.
				if kind != signtest.KindACR {
					withTlog := []string{"verify", "--key", pub, "--trusted-root", filepath.Join(c.Dir, "trusted_root.json"), p.Ref.String()}
					if _, stderr, err := c.Run(t, withTlog...); err == nil || !strings.Contains(stderr, "transparency log") {
						t.Errorf("%s verify without --insecure-ignore-tlog: %v, want a refusal for want of a log entry", cv.Name, err)
					}
					noRoot := []string{"verify", "--key", pub, "--insecure-ignore-tlog=true", p.Ref.String()}
					_, stderr, err := c.Run(t, noRoot...)
					if cv.Major == 2 && (err == nil || !strings.Contains(stderr, "trusted root is required")) {
						t.Errorf("cosign v2 verify of a bundle offline without --trusted-root: %v, want it to need one", err)
					}
					if cv.Major == 3 && err != nil {
						t.Errorf("cosign v3 verify without --trusted-root: %v", err)
					}
				}

				// cosign refuses what goship refuses.
				unsigned := w.PushImage(t, "acme/hello:unsigned")
				for _, tc := range []struct {
					what string
					args []string
				}{
					{"another key", append(append([]string{"verify"}, c.VerifyFlags(otherPub)...), p.Ref.String())},
					{"another key's attestations", append(append([]string{"verify-attestation"}, c.VerifyFlags(otherPub)...), "--type", "slsaprovenance1", p.Ref.String())},
					{"an unsigned image", append(append([]string{"verify"}, c.VerifyFlags(pub)...), unsigned.Ref.String())},
				} {
					_, stderr, err := c.Run(t, tc.args...)
					refusedByCosign(t, tc.what, stderr, err)
				}
				if kind == signtest.KindACR {
					return // tampering with legacy tags: TestCosignRefusesTamperedLegacy
				}
				tamperReferrer(t, w, p.Ref, sign.ProvenancePredicateType, signtest.Run.Ref, "refs/heads/evil")
				_, stderr, err := c.Run(t, append(append([]string{"verify-attestation"}, c.VerifyFlags(pub)...), "--type", "slsaprovenance1", p.Ref.String())...)
				refusedByCosign(t, "a tampered provenance", stderr, err)
				_, err = sign.Verify(ctx, p.Ref.String(), w.VerifyOpts(k))
				if ve := verifyErr(t, err); ve.Kind != sign.KindTampered {
					t.Errorf("goship: %v, want tampered", err)
				}
			})
		}
	}
}

// The matrix, cosign to goship: cosign v3 signs and attests in bundles
// (referrers API, or the referrers tag on registry:2), cosign v2 in its
// legacy tags; goship's Verify accepts both, reads the provenance they
// attest, refuses a failed gate in it, and refuses another key.
func TestGoshipVerifiesCosign(t *testing.T) {
	ctx := context.Background()
	const password = "another cosign key password"
	for _, kind := range []string{signtest.KindRegistry2, signtest.KindReferrersAPI} {
		for _, cv := range signtest.Cosigns {
			t.Run(kind+"/"+cv.Name, func(t *testing.T) {
				w := signtest.NewWorld(t, kind)
				c := signtest.NewCosign(t, w, cv.Name, cv.Major, password)
				k, _ := c.KeyPair(t, "cosign", password)
				other := signtest.NewKey(t)
				p := w.PushImage(t, "acme/hello:v1")
				c.MustRun(t, append(append([]string{"sign"}, c.SignFlags("cosign.key")...), "-a", "commit="+signtest.Run.Commit, p.Ref.String())...)

				signedOnly := sign.VerifyOptions{Keys: []*sign.PublicKey{k.PublicKey()}, Registry: w.Opts}
				v, err := sign.Verify(ctx, p.Ref.String(), signedOnly)
				if err != nil {
					t.Fatalf("goship Verify of %s's signature: %v", cv.Name, err)
				}
				wantScheme := sign.SchemeLegacy
				if cv.Major == 3 {
					wantScheme = sign.SchemeReferrersTag
					if kind == signtest.KindReferrersAPI {
						wantScheme = sign.SchemeReferrers
					}
				}
				if v.KeyFingerprint != k.Fingerprint() || v.Schemes[0] != wantScheme || v.Claims["commit"] != signtest.Run.Commit {
					t.Errorf("verified %+v, want key %s from %s with the commit claim", v, k.Fingerprint(), wantScheme)
				}
				_, err = sign.Verify(ctx, p.Ref.String(), sign.VerifyOptions{Keys: []*sign.PublicKey{other.PublicKey()}, Registry: w.Opts})
				if ve := verifyErr(t, err); ve.Kind != sign.KindWrongKey {
					t.Errorf("goship Verify with another key: %v, want wrong key", err)
				}

				// goship's provenance, attested by cosign.
				attest := func(p signtest.Pushed, ev sign.Evidence) {
					t.Helper()
					pred, err := sign.ProvenanceJSON(ev, p.Platforms)
					if err != nil {
						t.Fatal(err)
					}
					f := filepath.Join(c.Dir, fmt.Sprintf("provenance-%d.json", time.Now().UnixNano()))
					if err := os.WriteFile(f, pred, 0o600); err != nil {
						t.Fatal(err)
					}
					c.MustRun(t, append(append([]string{"attest"}, c.SignFlags("cosign.key")...), "--type", "slsaprovenance1", "--predicate", f, p.Ref.String())...)
				}
				attest(p, signtest.Evidence(t, p, time.Now().Add(-time.Minute)))
				strict := signedOnly
				strict.Require, strict.MaxAge = []string{sign.ProvenancePredicateType}, time.Hour
				v, err = sign.Verify(ctx, p.Ref.String(), strict)
				if err != nil {
					t.Fatalf("goship Verify of %s's attestation: %v", cv.Name, err)
				}
				if v.Provenance == nil || v.Provenance.Commit != signtest.Run.Commit || len(v.Provenance.Steps) != 4 {
					t.Errorf("provenance read from %s's attestation: %+v", cv.Name, v.Provenance)
				}

				failed := w.PushImage(t, "acme/hello:failed")
				c.MustRun(t, append(append([]string{"sign"}, c.SignFlags("cosign.key")...), failed.Ref.String())...)
				ev := signtest.Evidence(t, failed, time.Now())
				ev.Steps[1].Passed, ev.Steps[1].Summary = false, "TestRace failed"
				attest(failed, ev)
				_, err = sign.Verify(ctx, failed.Ref.String(), strict)
				if ve := verifyErr(t, err); ve.Kind != sign.KindGateFailed || ve.Step == nil || ve.Step.Step != sign.StepTest {
					t.Errorf("goship Verify of a failed gate attested by %s: %v", cv.Name, err)
				}
			})
		}
	}
}

// Tampering with cosign v2's legacy tags, as goship writes them on a
// registry that refuses artifacts: an .att layer altered after signing
// fails goship and both cosigns.
func TestCosignRefusesTamperedLegacy(t *testing.T) {
	ctx := context.Background()
	const password = "a third password"
	w := signtest.NewWorld(t, signtest.KindACR)
	k := signtest.NewKey(t)
	p := w.PushImage(t, "acme/hello:v1")
	if s := w.SignNow(ctx, t, p, k); s.Scheme != sign.SchemeLegacy {
		t.Fatalf("stored in %s, want the legacy tags", s.Scheme)
	}
	tamperLegacyAtt(t, w, p.Ref, signtest.Run.Ref, "refs/heads/evil")
	_, err := sign.Verify(ctx, p.Ref.String(), w.VerifyOpts(k))
	// Legacy entries name no key, so an altered one cannot be told from
	// another key's: the provenance is missing, and the error says one
	// attestation did not verify.
	var ve *sign.VerifyError
	if !errors.As(err, &ve) || ve.Kind != sign.KindMissingPredicate || ve.Unverified == 0 || !strings.Contains(err.Error(), "altered after signing") {
		t.Errorf("goship Verify of a tampered .att: %v", err)
	}
	t.Log(err)
	pubPEM, err := k.PublicKey().PEM()
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range signtest.Cosigns {
		t.Run(cv.Name, func(t *testing.T) {
			c := signtest.NewCosign(t, w, cv.Name, cv.Major, password)
			pub := filepath.Join(c.Dir, "goship.pub")
			if err := os.WriteFile(pub, pubPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			c.MustRun(t, append(append([]string{"verify"}, c.VerifyFlags(pub)...), p.Ref.String())...)
			_, stderr, err := c.Run(t, append(append([]string{"verify-attestation"}, c.VerifyFlags(pub)...), "--type", "slsaprovenance1", p.Ref.String())...)
			refusedByCosign(t, "a tampered legacy provenance", stderr, err)
		})
	}
}

// refusedByCosign checks that cosign failed for a verification reason,
// not for want of the registry or the network.
func refusedByCosign(t *testing.T, what, stderr string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("cosign accepted %s", what)
		return
	}
	for _, s := range []string{"no matching signatures", "no matching attestations", "no signatures found", "none of the attestations matched"} {
		if strings.Contains(stderr, s) {
			return
		}
	}
	t.Errorf("cosign refused %s, but not as a failed verification:\n%s", what, stderr)
}
