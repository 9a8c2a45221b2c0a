package sign_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
	"github.com/goship-dev/goship/pipeline/sign/signtest"
)

// Sign writes where each kind of registry lets it, and Verify reads it
// back with everything the provenance states.
func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		kind   string
		scheme sign.Scheme
	}{
		{signtest.KindRegistry2, sign.SchemeReferrersTag},
		{signtest.KindReferrersAPI, sign.SchemeReferrers},
		{signtest.KindACR, sign.SchemeLegacy},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			w := signtest.NewWorld(t, tc.kind)
			k := signtest.NewKey(t)
			for _, p := range []signtest.Pushed{w.PushImage(t, "acme/hello:v1"), w.PushIndex(t, "acme/hello:v2")} {
				signed := w.SignNow(ctx, t, p, k)
				if signed.Scheme != tc.scheme || (tc.scheme == sign.SchemeLegacy) != (signed.Refused != "") {
					t.Fatalf("Sign on %s stored in %q (refused: %q), want %q", tc.kind, signed.Scheme, signed.Refused, tc.scheme)
				}
				t.Logf("signed %s: %s %v", p.Ref, signed.Scheme, signed.Written)
				wantTypes := []string{sign.SignPredicateType, sign.ProvenancePredicateType}
				for range p.Platforms {
					wantTypes = append(wantTypes, sign.CycloneDXPredicateType, sign.VulnPredicateType)
				}
				if !slices.Equal(signed.PredicateTypes, wantTypes) {
					t.Errorf("attested %v, want %v", signed.PredicateTypes, wantTypes)
				}

				v, err := sign.Verify(ctx, p.Ref.String(), w.VerifyOpts(k))
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if v.Reference != p.Ref.String() || v.KeyFingerprint != k.Fingerprint() || !slices.Equal(v.Schemes, []sign.Scheme{tc.scheme}) {
					t.Errorf("verified %s by %s from %v; want %s by %s from %s", v.Reference, v.KeyFingerprint, v.Schemes, p.Ref, k.Fingerprint(), tc.scheme)
				}
				if want := slices.Sorted(slices.Values(signtest.AllPredicates)); !slices.Equal(v.PredicateTypes, want) {
					t.Errorf("predicate types %v, want %v", v.PredicateTypes, want)
				}
				if v.Claims["commit"] != signtest.Run.Commit || v.Claims["ref"] != signtest.Run.Ref {
					t.Errorf("signed claims %v", v.Claims)
				}
				checkProvenance(t, v.Provenance, p)
			}
		})
	}
}

func checkProvenance(t *testing.T, prov *sign.Provenance, p signtest.Pushed) {
	t.Helper()
	if prov == nil {
		t.Fatal("no provenance verified")
	}
	if prov.BuildType != sign.BuildType || prov.BuilderID != signtest.Run.BuilderID || prov.InvocationID != signtest.Run.InvocationID ||
		prov.Repository != signtest.Run.Repository || prov.Ref != signtest.Run.Ref || prov.Commit != signtest.Run.Commit ||
		prov.GoshipVersion != signtest.Run.GoshipVersion || prov.GoVersion != signtest.Run.GoVersion {
		t.Errorf("provenance %+v does not state the run %+v", prov, signtest.Run)
	}
	if time.Since(prov.FinishedOn) > 2*time.Minute || prov.StartedOn.After(prov.FinishedOn) {
		t.Errorf("provenance ran %s to %s", prov.StartedOn, prov.FinishedOn)
	}
	plats := slices.Sorted(func(yield func(string) bool) {
		for k := range p.Platforms {
			if !yield(k) {
				return
			}
		}
	})
	if got := slices.Sorted(slices.Values(prov.Platforms)); !slices.Equal(got, plats) {
		t.Errorf("provenance platforms %v, want %v", got, plats)
	}
	if len(prov.Steps) != 2+2*len(plats) {
		t.Errorf("provenance steps %+v, want lint, test and build and scan of %v", prov.Steps, plats)
	}
	deps := map[string]sign.Dependency{}
	for _, d := range prov.Dependencies {
		deps[d.Name] = d
	}
	if d := deps["source"]; d.Digest["gitCommit"] != signtest.Run.Commit || d.URI != "git+"+signtest.Run.Repository+"@"+signtest.Run.Ref {
		t.Errorf("source dependency %+v", d)
	}
	if d := deps["golang"]; d.Digest["sha256"] != strings.Repeat("1", 64) || d.URI != "oci://docker.io/library/golang" {
		t.Errorf("golang image dependency %+v", d)
	}
	if d := deps["golang.org/x/text"]; d.URI != "pkg:golang/golang.org/x/text@v0.1.0" || len(d.Digest["dirHash"]) != 64 {
		t.Errorf("module dependency %+v", d)
	}
	if len(prov.Dependencies) != 4 {
		t.Errorf("dependencies %+v: want the source, two images, one module (not the go.mod line)", prov.Dependencies)
	}
}

// The gate is ci: Sign refuses, writing nothing, unless lint, test and
// the build and scan of every platform passed for the digest.
func TestSignRefusesWithoutPassingCI(t *testing.T) {
	ctx := context.Background()
	w := signtest.NewWorld(t, signtest.KindRegistry2)
	k := signtest.NewKey(t)
	p := w.PushIndex(t, "acme/hello:v1")
	other := w.PushImage(t, "acme/hello:other")
	edit := func(f func(*sign.Evidence)) sign.Evidence {
		ev := signtest.Evidence(t, p, time.Now())
		f(&ev)
		return ev
	}
	setStep := func(ev *sign.Evidence, s sign.Step, plat string, passed bool, summary string) {
		for i := range ev.Steps {
			if ev.Steps[i].Step == s && ev.Steps[i].Platform == plat {
				ev.Steps[i].Passed, ev.Steps[i].Summary = passed, summary
			}
		}
	}
	dropStep := func(ev *sign.Evidence, s sign.Step, plat string) {
		ev.Steps = slices.DeleteFunc(ev.Steps, func(r sign.StepResult) bool { return r.Step == s && r.Platform == plat })
	}
	for _, tc := range []struct {
		name     string
		ev       sign.Evidence
		step     sign.Step
		platform string
		reason   sign.GateReason
	}{
		{"lint failed", edit(func(ev *sign.Evidence) { setStep(ev, sign.StepLint, "", false, "3 issues") }), sign.StepLint, "", sign.GateFailed},
		{"tests did not run", edit(func(ev *sign.Evidence) { dropStep(ev, sign.StepTest, "") }), sign.StepTest, "", sign.GateMissing},
		{"a failed test run beside a passed one", edit(func(ev *sign.Evidence) {
			ev.Steps = append(ev.Steps, sign.StepResult{Step: sign.StepTest, Passed: false, Summary: "TestRace failed"})
		}), sign.StepTest, "", sign.GateFailed},
		{"arm64 build failed", edit(func(ev *sign.Evidence) { setStep(ev, sign.StepBuild, "linux/arm64", false, "") }), sign.StepBuild, "linux/arm64", sign.GateFailed},
		{"only the first platform scanned", edit(func(ev *sign.Evidence) {
			dropStep(ev, sign.StepScan, "linux/arm64")
			ev.Scans = slices.DeleteFunc(ev.Scans, func(s sign.Scan) bool { return s.Platform == "linux/arm64" })
		}), sign.StepScan, "linux/arm64", sign.GateMissing},
		{"arm64 scan failed", edit(func(ev *sign.Evidence) {
			setStep(ev, sign.StepScan, "linux/arm64", false, "1 blocking at HIGH/CRITICAL")
		}), sign.StepScan, "linux/arm64", sign.GateFailed},
		{"scan evidence missing", edit(func(ev *sign.Evidence) {
			ev.Scans = slices.DeleteFunc(ev.Scans, func(s sign.Scan) bool { return s.Platform == "linux/amd64" })
		}), sign.StepScan, "linux/amd64", sign.GateMissing},
		{"scan of another digest", edit(func(ev *sign.Evidence) {
			for i := range ev.Scans {
				ev.Scans[i].Digest = other.Ref.DigestStr()
			}
		}), sign.StepScan, "linux/amd64", sign.GateOtherDigest},
		{"SBOM not CycloneDX", edit(func(ev *sign.Evidence) {
			for i := range ev.Scans {
				ev.Scans[i].SBOM = []byte(`{"spdxVersion":"SPDX-2.3"}`)
			}
		}), sign.StepScan, "linux/amd64", sign.GateBadEvidence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sign.Sign(ctx, p.Ref.String(), k, tc.ev, sign.Options{Registry: w.Opts})
			var ge *sign.GateError
			if !errors.As(err, &ge) {
				t.Fatalf("Sign = %v, want a *GateError", err)
			}
			if ge.Step != tc.step || ge.Platform != tc.platform || ge.Reason != tc.reason || ge.Reference != p.Ref.String() {
				t.Fatalf("refused %+v, want step %s platform %q reason %s", ge, tc.step, tc.platform, tc.reason)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "publish --sign-key needs a passing ci in the same run") {
				t.Errorf("%q does not say that publish --sign-key needs a passing ci", err)
			}
		})
	}
	// Nothing was written.
	_, err := sign.Verify(ctx, p.Ref.String(), w.VerifyOpts(k))
	if ve := verifyErr(t, err); ve.Kind != sign.KindNoSignature || ve.Found != 0 {
		t.Fatalf("after the refusals: %v, want nothing stored", err)
	}
	if _, err := sign.Sign(ctx, p.Ref.Context().Tag("v1").String(), k, signtest.Evidence(t, p, time.Now()), sign.Options{Registry: w.Opts}); err == nil {
		t.Error("Sign of a tag succeeded: a tag can move")
	}
	bad := signtest.Evidence(t, p, time.Now())
	bad.Run.Commit = "main"
	if _, err := sign.Sign(ctx, p.Ref.String(), k, bad, sign.Options{Registry: w.Opts}); err == nil {
		t.Error("Sign with a commit that is not a full SHA succeeded")
	}
}

func verifyErr(t *testing.T, err error) *sign.VerifyError {
	t.Helper()
	var ve *sign.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("Verify = %v, want a *VerifyError", err)
	}
	t.Log(err)
	return ve
}

// Verify refuses, by kind, what an attacker who can push could make.
func TestVerifyRefuses(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{signtest.KindRegistry2, signtest.KindReferrersAPI} {
		t.Run(kind, func(t *testing.T) {
			w := signtest.NewWorld(t, kind)
			k, other := signtest.NewKey(t), signtest.NewKey(t)

			unsigned := w.PushImage(t, "acme/hello:unsigned")
			byOther := w.PushImage(t, "acme/hello:other")
			w.SignNow(ctx, t, byOther, other)
			signed := w.PushImage(t, "acme/hello:signed")
			w.SignNow(ctx, t, signed, k)
			tampered := w.PushImage(t, "acme/hello:tampered")
			w.SignNow(ctx, t, tampered, k)
			tamperReferrer(t, w, tampered.Ref, sign.ProvenancePredicateType, signtest.Run.Ref, "refs/heads/evil")
			moved := w.PushImage(t, "acme/hello:moved")
			copyReferrer(t, w, signed.Ref, moved.Ref, sign.SignPredicateType)
			// Only a key holder can sign a provenance that says a step
			// failed (Sign refuses to): Verify refuses it all the same.
			failed := w.PushIndex(t, "acme/hello:failed")
			ev := signtest.Evidence(t, failed, time.Now())
			for i := range ev.Steps {
				if ev.Steps[i].Step == sign.StepScan && ev.Steps[i].Platform == "linux/arm64" {
					ev.Steps[i].Passed, ev.Steps[i].Summary = false, "1 blocking at HIGH/CRITICAL"
				}
			}
			if _, err := sign.SignWithoutGate(ctx, failed.Ref.String(), k, ev, sign.Options{Registry: w.Opts}); err != nil {
				t.Fatal(err)
			}
			incomplete := w.PushIndex(t, "acme/hello:incomplete")
			ev = signtest.Evidence(t, incomplete, time.Now())
			ev.Steps = slices.DeleteFunc(ev.Steps, func(r sign.StepResult) bool { return r.Step == sign.StepTest })
			if _, err := sign.SignWithoutGate(ctx, incomplete.Ref.String(), k, ev, sign.Options{Registry: w.Opts}); err != nil {
				t.Fatal(err)
			}
			old := w.PushImage(t, "acme/hello:old")
			if _, err := sign.Sign(ctx, old.Ref.String(), k, signtest.Evidence(t, old, time.Now().Add(-40*24*time.Hour)), sign.Options{Registry: w.Opts}); err != nil {
				t.Fatal(err)
			}

			for _, tc := range []struct {
				name string
				p    signtest.Pushed
				opts func(*sign.VerifyOptions)
				kind sign.Kind
				says []string
			}{
				{"unsigned", unsigned, nil, sign.KindNoSignature, []string{"no signature", unsigned.Ref.DigestStr()}},
				{"signed by another key", byOther, nil, sign.KindWrongKey, []string{"not by a trusted key", k.Fingerprint()}},
				{"attestation altered after signing", tampered, nil, sign.KindTampered, []string{"altered after signing", k.Fingerprint()}},
				{"signature copied from another image", moved, nil, sign.KindWrongDigest, []string{"for digest " + signed.Ref.DigestStr(), "copied"}},
				{"a required predicate not attested", signed, func(o *sign.VerifyOptions) {
					o.Require = append(o.Require, "https://spdx.dev/Document")
				}, sign.KindMissingPredicate, []string{"https://spdx.dev/Document"}},
				{"provenance says a scan failed", failed, nil, sign.KindGateFailed, []string{"scan for linux/arm64 did not pass (1 blocking at HIGH/CRITICAL)"}},
				{"provenance lacks the test step", incomplete, nil, sign.KindGateFailed, []string{"test did not pass (not in the provenance"}},
				{"gate older than the maximum age", old, func(o *sign.VerifyOptions) { o.MaxAge = 30 * 24 * time.Hour }, sign.KindTooOld, []string{"older than the maximum age", "run ci and publish again"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					o := w.VerifyOpts(k)
					if tc.opts != nil {
						tc.opts(&o)
					}
					v, err := sign.Verify(ctx, tc.p.Ref.String(), o)
					if err == nil {
						t.Fatalf("Verify accepted %s: %+v", tc.p.Ref, v)
					}
					ve := verifyErr(t, err)
					if ve.Kind != tc.kind || ve.Reference != tc.p.Ref.String() {
						t.Fatalf("refused %s as %s, want %s", ve.Reference, ve.Kind, tc.kind)
					}
					for _, s := range append(tc.says, tc.p.Ref.String()) {
						if !strings.Contains(err.Error(), s) {
							t.Errorf("%q does not say %q", err, s)
						}
					}
				})
			}

			t.Run("either of two trusted keys", func(t *testing.T) {
				if _, err := sign.Verify(ctx, byOther.Ref.String(), w.VerifyOpts(k, other)); err != nil {
					t.Fatal(err)
				}
			})
			t.Run("a fresh gate replaces an old one, by age", func(t *testing.T) {
				o := w.VerifyOpts(k)
				o.MaxAge = 30 * 24 * time.Hour
				w.SignNow(ctx, t, old, k)
				v, err := sign.Verify(ctx, old.Ref.String(), o)
				if err != nil {
					t.Fatal(err)
				}
				if time.Since(v.Provenance.FinishedOn) > time.Hour {
					t.Errorf("verified the old provenance (%s), want the newest", v.Provenance.FinishedOn)
				}
				// Replayed at a later date, the same gate is too old.
				o.Now = time.Now().Add(31 * 24 * time.Hour)
				if _, err := sign.Verify(ctx, old.Ref.String(), o); verifyErr(t, err).Kind != sign.KindTooOld {
					t.Errorf("a month later: %v, want too old", err)
				}
			})
			t.Run("by tag", func(t *testing.T) {
				v, err := sign.Verify(ctx, signed.Ref.Context().Tag("signed").String(), w.VerifyOpts(k))
				if err != nil || v.Reference != signed.Ref.String() {
					t.Fatalf("Verify by tag: %+v, %v", v, err)
				}
			})
		})
	}
}

// referrer is a bundle referrer of subject as stored.
type referrer struct {
	manifest    v1.Manifest
	bundle      []byte
	annotations map[string]string
}

// findReferrer reads subject's bundle referrer of predicateType.
func findReferrer(t *testing.T, w *signtest.World, subject name.Digest, predicateType string) (v1.Hash, referrer) {
	t.Helper()
	idx, err := remote.Referrers(subject, w.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := remote.Image(subject.Context().Digest(d.Digest.String()), w.RemoteOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Annotations["dev.sigstore.bundle.predicateType"] != predicateType {
			continue
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layers[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		_ = rc.Close()
		return d.Digest, referrer{manifest: *m, bundle: raw, annotations: m.Annotations}
	}
	t.Fatalf("no %s referrer of %s", predicateType, subject)
	return v1.Hash{}, referrer{}
}

// putReferrer pushes bundle as a referrer of subject, as an attacker who
// can push would (go-containerregistry keeps the referrers tag).
func putReferrer(t *testing.T, w *signtest.World, subject name.Digest, bundle []byte, annotations map[string]string) {
	t.Helper()
	desc, err := remote.Head(subject, w.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	layer := static.NewLayer(bundle, sign.BundleMediaType)
	config := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	var descs []v1.Descriptor
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(subject.Context(), l, w.RemoteOptions()...); err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		descs = append(descs, v1.Descriptor{MediaType: mt, Digest: d, Size: n})
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: sign.BundleMediaType, Config: descs[0],
		Layers: descs[1:], Subject: &v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}, Annotations: annotations}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _, _ := v1.SHA256(strings.NewReader(string(raw)))
	if err := remote.Put(subject.Context().Digest(h.String()), rawManifest(raw), w.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// tamperReferrer swaps subject's referrer of predicateType for a copy
// whose signed statement has from replaced by to, signature kept.
func tamperReferrer(t *testing.T, w *signtest.World, subject name.Digest, predicateType, from, to string) {
	t.Helper()
	h, r := findReferrer(t, w, subject, predicateType)
	var b map[string]any
	if err := json.Unmarshal(r.bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(payload), from) {
		t.Fatalf("the %s statement does not contain %q", predicateType, from)
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(payload), from, to)))
	bundle, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	putReferrer(t, w, subject, bundle, r.annotations)
	if err := remote.Delete(subject.Context().Digest(h.String()), w.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}

// copyReferrer attaches from's referrer of predicateType to to as well.
func copyReferrer(t *testing.T, w *signtest.World, from, to name.Digest, predicateType string) {
	t.Helper()
	_, r := findReferrer(t, w, from, predicateType)
	putReferrer(t, w, to, r.bundle, r.annotations)
}

// A wrong registry password fails every verb without being echoed, and
// never reads as a verification verdict.
func TestRegistryPasswordNeverInErrors(t *testing.T) {
	ctx := context.Background()
	w := signtest.NewWorld(t, signtest.KindRegistry2)
	k := signtest.NewKey(t)
	p := w.PushImage(t, "acme/hello:v1")
	wrong := "wrong-" + strings.Repeat("p4ss", 4)
	opts := []registry.Option{
		registry.WithCredentials(registry.Credentials{Username: w.Username, Password: wrong}),
		registry.WithTrust(registry.Trust{CAPEM: w.CAPEM}),
	}
	_, signErr := sign.Sign(ctx, p.Ref.String(), k, signtest.Evidence(t, p, time.Now()), sign.Options{Registry: opts})
	vo := w.VerifyOpts(k)
	vo.Registry = opts
	_, verErr := sign.Verify(ctx, p.Ref.String(), vo)
	for _, err := range []error{signErr, verErr} {
		if err == nil {
			t.Fatal("a verb succeeded with a wrong registry password")
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("error echoes the password: %v", err)
		}
		var ve *sign.VerifyError
		var ge *sign.GateError
		if errors.As(err, &ve) || errors.As(err, &ge) {
			t.Errorf("a registry failure reads as a verdict: %v", err)
		}
	}
}

// tamperLegacyAtt rewrites subject's cosign v2 .att image with from
// replaced by to in every statement, signatures kept.
func tamperLegacyAtt(t *testing.T, w *signtest.World, subject name.Digest, from, to string) {
	t.Helper()
	tag := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1) + ".att")
	img, err := remote.Image(tag, w.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]any
		if err := json.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
		if err != nil {
			t.Fatal(err)
		}
		env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(payload), from, to)))
		if raw, err = json.Marshal(env); err != nil {
			t.Fatal(err)
		}
		if out, err = mutate.Append(out, mutate.Addendum{Layer: static.NewLayer(raw, desc.MediaType), Annotations: desc.Annotations}); err != nil {
			t.Fatal(err)
		}
	}
	if err := remote.Write(tag, out, w.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}
