package sign_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/internal/testworld"
	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/sign"
)

// cosignCLI runs the pinned cosign (scripts/tools.sh builds it) against
// the test world's registry: its CA through SSL_CERT_FILE, its
// credentials in a docker config of its own, and a home and TUF root in a
// temp dir so nothing outside the test is read or written. Verification
// gets an empty trusted root, as offline users give it, so cosign does not
// fetch Sigstore's from the internet; and every request not to the test
// world goes to a proxy that does not exist, so none leaves the machine.
type cosignCLI struct {
	bin string
	env []string
	dir string
	// trustedRoot is an empty Sigstore trusted root: key-based checks
	// need none of its logs or CAs.
	trustedRoot string
}

func newCosign(t *testing.T, w *world, password string) *cosignCLI {
	t.Helper()
	bin := testworld.Tool(t, "cosign")
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(w.reg.Username + ":" + w.reg.Password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{w.reg.Host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"docker", "home", "tuf"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "docker", "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	trustedRoot := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(trustedRoot, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cosignCLI{bin: bin, dir: dir, trustedRoot: trustedRoot, env: []string{
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=" + w.reg.Host,
		"DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
		"SSL_CERT_FILE=" + w.reg.CAFile,
		"HOME=" + filepath.Join(dir, "home"),
		"TUF_ROOT=" + filepath.Join(dir, "tuf"),
		"COSIGN_PASSWORD=" + password,
	}}
}

// verifyArgs are the flags of a key-based, offline cosign verification.
func (c *cosignCLI) verifyArgs(pub string) []string {
	return []string{"--key", pub, "--insecure-ignore-tlog=true", "--trusted-root", c.trustedRoot}
}

// run runs cosign with args and returns stdout, stderr and the error.
func (c *cosignCLI) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("$ cosign %s\n%s", strings.Join(args, " "), strings.TrimSpace(stderr.String()))
	return stdout.String(), stderr.String(), err
}

func (c *cosignCLI) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, _, err := c.run(t, args...)
	if err != nil {
		t.Fatalf("cosign %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestCosignVerifiesGoshipSignatures signs and attests with a key made by
// cosign generate-key-pair, then has cosign's own verifier check both.
func TestCosignVerifiesGoshipSignatures(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const password = "a cosign key password"
	c := newCosign(t, w, password)
	c.mustRun(t, "generate-key-pair", "--output-key-prefix", "goship")
	keyPEM, err := os.ReadFile(filepath.Join(c.dir, "goship.key"))
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(c.dir, "goship.pub")
	k, err := sign.LoadKey(keyPEM, []byte(password))
	if err != nil {
		t.Fatalf("LoadKey of cosign's key: %v", err)
	}
	ref := w.push(t, "goship/hello:v1")
	w.publish(ctx, t, ref, k, evidence(t, passingPolicy(), nil))

	out := c.mustRun(t, append(append([]string{"verify"}, c.verifyArgs(pubPath)...), ref.String())...)
	var claims []struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
		Optional map[string]any `json:"optional"`
	}
	if err := json.Unmarshal([]byte(out), &claims); err != nil || len(claims) != 1 {
		t.Fatalf("cosign verify printed %q (%v), want one claim", out, err)
	}
	if claims[0].Critical.Image.Digest != ref.DigestStr() || claims[0].Optional["commit"] != testRun.Commit {
		t.Fatalf("cosign verified %+v, want digest %s and commit %s", claims[0], ref.DigestStr(), testRun.Commit)
	}

	for _, typ := range []struct{ flag, uri string }{
		{"cyclonedx", sign.CycloneDXPredicateType},
		{"vuln", sign.VulnPredicateType},
		{sign.GatePredicateType, sign.GatePredicateType},
	} {
		out := c.mustRun(t, append(append([]string{"verify-attestation"}, c.verifyArgs(pubPath)...), "--type", typ.flag, ref.String())...)
		st := statementsOf(t, out, typ.uri)
		if len(st) != 1 || st[0].Subject[0].Digest["sha256"] != strings.TrimPrefix(ref.DigestStr(), "sha256:") {
			t.Fatalf("cosign verify-attestation --type %s: %+v, want one statement about %s", typ.flag, st, ref)
		}
		if typ.uri == sign.GatePredicateType {
			var g sign.Gate
			if err := json.Unmarshal(st[0].Predicate, &g); err != nil || g.Outcome != sign.GatePassed || g.Commit != testRun.Commit {
				t.Fatalf("gate statement cosign verified: %+v, %v", g, err)
			}
		}
	}

	// An admission check elsewhere can enforce the gate with cosign alone,
	// through a CUE policy on the gate statement.
	policy := filepath.Join(c.dir, "gate.cue")
	if err := os.WriteFile(policy, []byte("predicateType: \""+sign.GatePredicateType+"\"\npredicate: outcome: \"passed\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gateArgs := func(r name.Digest) []string {
		return append(append([]string{"verify-attestation"}, c.verifyArgs(pubPath)...), "--type", sign.GatePredicateType, "--policy", policy, r.String())
	}
	c.mustRun(t, gateArgs(ref)...)
	failed := w.push(t, "goship/hello:failed")
	w.publish(ctx, t, failed, k, evidence(t, scan.DefaultPolicy(), nil))
	if _, stderr, err := c.run(t, gateArgs(failed)...); err == nil || !strings.Contains(stderr, "validation error") {
		t.Errorf("cosign's CUE policy accepted a failed gate: %v %s", err, stderr)
	}

	// cosign refuses what goship refuses.
	_, otherKey := newKey(t)
	other := w.push(t, "goship/hello:other")
	w.publish(ctx, t, other, otherKey, evidence(t, passingPolicy(), nil))
	moved := w.push(t, "goship/hello:moved")
	copyTag(t, w, ref, moved, ".sig")
	for _, tc := range []struct {
		ref  name.Digest
		says string
	}{
		{other, "invalid signature"},
		{moved, "invalid or missing digest in claim: " + ref.DigestStr()},
	} {
		if _, stderr, err := c.run(t, append(append([]string{"verify"}, c.verifyArgs(pubPath)...), tc.ref.String())...); err == nil {
			t.Errorf("cosign verify accepted %s", tc.ref)
		} else if !strings.Contains(stderr, "no matching signatures: "+tc.says) {
			t.Errorf("cosign verify of %s failed for another reason than %q: %s", tc.ref, tc.says, stderr)
		}
	}
}

// TestGoshipVerifiesCosignSignatures: what cosign sign and cosign attest
// write with an ECDSA key passes Verify.
func TestGoshipVerifiesCosignSignatures(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	const password = "another cosign key password"
	c := newCosign(t, w, password)
	c.mustRun(t, "generate-key-pair", "--output-key-prefix", "cosign")
	pub, err := os.ReadFile(filepath.Join(c.dir, "cosign.pub"))
	if err != nil {
		t.Fatal(err)
	}
	ref := w.push(t, "goship/hello:v1")
	c.mustRun(t, "sign", "--key", "cosign.key", "--tlog-upload=false", "--yes", ref.String())

	opts := sign.VerifyOptions{Registry: w.opts}
	if _, err := sign.Verify(ctx, ref.String(), pub, opts); !errors.Is(err, sign.ErrNoGate) {
		t.Fatalf("Verify of a cosign signature without a gate: %v, want ErrNoGate", err)
	}
	opts.AllowMissingGate = true
	if v, err := sign.Verify(ctx, ref.String(), pub, opts); err != nil || v.Reference != ref.String() {
		t.Fatalf("Verify of a cosign signature: %+v, %v", v, err)
	}

	gate := fmt.Sprintf(`{"commit":%q,"workflowRun":"manual","goshipVersion":"none","outcome":"passed","gatedSeverities":["HIGH","CRITICAL"],"counts":{},"blocking":0,"allowlisted":0,"finishedAt":"2026-12-01T10:00:00Z"}`, testRun.Commit)
	if err := os.WriteFile(filepath.Join(c.dir, "gate.json"), []byte(gate), 0o600); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, "attest", "--key", "cosign.key", "--tlog-upload=false", "--yes", "--type", sign.GatePredicateType, "--predicate", "gate.json", ref.String())
	v, err := sign.Verify(ctx, ref.String(), pub, sign.VerifyOptions{Registry: w.opts})
	if err != nil || v.GateOutcome != sign.GatePassed || v.Commit != testRun.Commit {
		t.Fatalf("Verify of a cosign attestation: %+v, %v", v, err)
	}
}

// statementsOf decodes the DSSE envelopes cosign verify-attestation
// prints, one JSON object per line, keeping statements of type uri.
func statementsOf(t *testing.T, out, uri string) []sign.Statement {
	t.Helper()
	var sts []sign.Statement
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var env struct {
			PayloadType string `json:"payloadType"`
			Payload     string `json:"payload"`
		}
		if err := dec.Decode(&env); err != nil {
			t.Fatalf("cosign verify-attestation output %q: %v", out, err)
		}
		body, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var st sign.Statement
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatal(err)
		}
		if st.PredicateType == uri {
			sts = append(sts, st)
		}
	}
	return sts
}
