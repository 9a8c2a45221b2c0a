package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/goship-dev/goship/pipeline/policy"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
	"github.com/goship-dev/goship/pipeline/sign/signtest"
)

// policyFor is a policy trusting k, requiring goship's three attestations
// with a maximum age of a day, allowing allow.
func policyFor(t *testing.T, k *sign.Key, allow ...string) *policy.Policy {
	t.Helper()
	pub, err := k.PublicKey().PEM()
	if err != nil {
		t.Fatal(err)
	}
	y := "keys:\n  - name: release\n    path: .goship/cosign.pub\nrequire: [slsaprovenance1, cyclonedx, vuln]\nmaxAge: 1d\nimages: ['**/acme/hello**']\n"
	if len(allow) > 0 {
		y += "allow:\n"
		for _, a := range allow {
			y += "  - image: " + a + "\n    reason: a third-party sidecar\n"
		}
	}
	p, err := policy.Parse(project.DefaultPolicyFile, []byte(y), fstest.MapFS{".goship/cosign.pub": {Data: pub}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every image a release runs must be pinned by digest, and signed as the
// policy requires or allowed by it; the report says which, per image.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	w := signtest.NewWorld(t, signtest.KindRegistry2)
	k, other := signtest.NewKey(t), signtest.NewKey(t)
	app := w.PushIndex(t, "acme/hello:v1")
	w.SignNow(ctx, t, app, k)
	sidecar := w.PushImage(t, "vendor/proxy:1.2")
	unsigned := w.PushImage(t, "acme/worker:v1")
	byOther := w.PushImage(t, "acme/hello-init:v1")
	w.SignNow(ctx, t, byOther, other)
	old := w.PushImage(t, "acme/hello:old")
	if _, err := sign.Sign(ctx, old.Ref.String(), k, signtest.Evidence(t, old, time.Now().Add(-3*24*time.Hour)), sign.Options{Registry: w.Opts}); err != nil {
		t.Fatal(err)
	}
	// An allowed digest of another repository does not allow this one.
	elsewhere := strings.Replace(sidecar.Ref.String(), "vendor/proxy", "vendor/other", 1)
	p := policyFor(t, k, sidecar.Ref.String())

	images := []string{
		app.Ref.String(),
		sidecar.Ref.String(),
		unsigned.Ref.String(),
		byOther.Ref.String(),
		old.Ref.String(),
		w.Host + "/acme/hello:v1",
		elsewhere,
		"Not An Image",
	}
	want := []struct {
		verdict policy.Verdict
		kind    sign.Kind
	}{
		{policy.Signed, ""},
		{policy.Allowed, ""},
		{policy.Refused, sign.KindNoSignature},
		{policy.Refused, sign.KindWrongKey},
		{policy.Refused, sign.KindTooOld},
		{policy.Unpinned, ""},
		{policy.Refused, sign.KindNoSignature},
		{policy.Invalid, ""},
	}
	rep, err := policy.Check(ctx, p, images, policy.CheckOptions{Registry: w.Opts})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != len(images) {
		t.Fatalf("%d results for %d images", len(rep.Images), len(images))
	}
	for i, r := range rep.Images {
		if r.Image != images[i] || r.Verdict != want[i].verdict {
			t.Errorf("%s: %s (%v), want %s", images[i], r.Verdict, r.Err, want[i].verdict)
			continue
		}
		var ve *sign.VerifyError
		if want[i].kind != "" && (!errors.As(r.Err, &ve) || ve.Kind != want[i].kind) {
			t.Errorf("%s: refused with %v, want %s", images[i], r.Err, want[i].kind)
		}
		if r.OK() != (r.Verdict == policy.Signed || r.Verdict == policy.Allowed) || r.OK() == (r.Err != nil) {
			t.Errorf("%s: OK %v with error %v", images[i], r.OK(), r.Err)
		}
	}
	if v := rep.Images[0].Verified; v == nil || v.Provenance == nil || v.Provenance.Commit != signtest.Run.Commit {
		t.Errorf("the signed image's verification: %+v", v)
	}
	if rep.Images[1].Reason != "a third-party sidecar" {
		t.Errorf("allowed with reason %q", rep.Images[1].Reason)
	}
	err = rep.Err()
	var re *policy.RefusedError
	if !errors.As(err, &re) || len(re.Images) != 6 {
		t.Fatalf("report error %v, want the 6 refused images", err)
	}
	t.Log(err)
	for _, s := range []string{unsigned.Ref.String(), "pin it by digest", "nothing was changed"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
	ok, err := policy.Check(ctx, p, images[:2], policy.CheckOptions{RegistryFor: func(host string) []registry.Option {
		if host != w.Host {
			t.Errorf("options asked for %s", host)
		}
		return w.Opts
	}})
	if err != nil || ok.Err() != nil {
		t.Errorf("the signed app and the allowed sidecar: %v, %v", err, ok.Err())
	}
	// A registry that cannot be read proves nothing: refused, not passed.
	down, err := policy.Check(ctx, p, []string{strings.Replace(app.Ref.String(), w.Host, "127.0.0.1:1", 1)}, policy.CheckOptions{Registry: w.Opts})
	if err != nil || down.Images[0].Verdict != policy.Unchecked || down.Err() == nil {
		t.Errorf("an unreachable registry: %+v, %v", down, err)
	}
}

// The rego policy the ClusterImagePolicy carries on the provenance, run
// by cosign's own rego evaluator (verify-attestation --policy; the same
// rules under the package and rule name the CLI queries): a fresh passing
// gate passes, an old one does not.
func TestProvenanceRegoWithCosign(t *testing.T) {
	ctx := context.Background()
	const password = "rego password"
	w := signtest.NewWorld(t, signtest.KindRegistry2)
	for _, cv := range signtest.Cosigns {
		t.Run(cv.Name, func(t *testing.T) {
			c := signtest.NewCosign(t, w, cv.Name, cv.Major, password)
			k, pub := c.KeyPair(t, "goship", password)
			fresh := w.PushImage(t, "acme/hello:fresh-"+cv.Name)
			w.SignNow(ctx, t, fresh, k)
			old := w.PushImage(t, "acme/hello:old-"+cv.Name)
			if _, err := sign.Sign(ctx, old.Ref.String(), k, signtest.Evidence(t, old, time.Now().Add(-3*24*time.Hour)), sign.Options{Registry: w.Opts}); err != nil {
				t.Fatal(err)
			}
			rego := policy.ProvenanceRego(policyFor(t, k))
			cli := strings.Replace(rego, "package sigstore", "package signature", 1)
			cli = strings.ReplaceAll(cli, "isCompliant", "allow")
			f := filepath.Join(c.Dir, "provenance.rego")
			if err := os.WriteFile(f, []byte(cli), 0o600); err != nil {
				t.Fatal(err)
			}
			args := func(ref string) []string {
				return append(append([]string{"verify-attestation"}, c.VerifyFlags(pub)...), "--type", "slsaprovenance1", "--policy", f, ref)
			}
			out := c.MustRun(t, args(fresh.Ref.String())...)
			if _, stderr, err := c.Run(t, args(old.Ref.String())...); err == nil || !strings.Contains(stderr, "validation error") {
				t.Errorf("cosign's rego passed a gate three days old against a one-day maximum: %v", err)
			}

			// The same fresh provenance with one step failed, attested by
			// the key with cosign: the rego refuses it.
			var env struct {
				Payload []byte `json:"payload"`
			}
			if err := json.NewDecoder(strings.NewReader(out)).Decode(&env); err != nil {
				t.Fatal(err)
			}
			var st struct {
				Predicate json.RawMessage `json:"predicate"`
			}
			if err := json.Unmarshal(env.Payload, &st); err != nil {
				t.Fatal(err)
			}
			pred := strings.Replace(string(st.Predicate), `"outcome":"passed"`, `"outcome":"failed"`, 1)
			if pred == string(st.Predicate) {
				t.Fatalf("no step outcome in the provenance: %s", st.Predicate)
			}
			pf := filepath.Join(c.Dir, "failed.json")
			if err := os.WriteFile(pf, []byte(pred), 0o600); err != nil {
				t.Fatal(err)
			}
			failed := w.PushImage(t, "acme/hello:failed-"+cv.Name)
			c.MustRun(t, append(append([]string{"attest"}, c.SignFlags("goship.key")...), "--type", "slsaprovenance1", "--predicate", pf, failed.Ref.String())...)
			if _, stderr, err := c.Run(t, args(failed.Ref.String())...); err == nil || !strings.Contains(stderr, "validation error") {
				t.Errorf("cosign's rego passed a provenance with a failed step: %v", err)
			}
		})
	}
}
