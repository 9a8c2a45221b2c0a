package policy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/goship-dev/goship/pipeline/policy"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/sign"
)

// keyPair makes an ECDSA key and returns its private and public PEM.
func keyPair(t *testing.T) (privPEM, pubPEM []byte) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
}

// indent puts s under a YAML block scalar at depth.
func indent(s string, depth int) string {
	pad := strings.Repeat(" ", depth)
	return pad + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
}

const digest = "sha256:4b0e0d3ac1aab0d0c2e1b1c3f9b5f1e1b2c3d4e5f60718293a4b5c6d7e8f9012"

func TestParse(t *testing.T) {
	priv, pub := keyPair(t)
	_, pub2 := keyPair(t)
	repo := fstest.MapFS{
		".goship/cosign.pub": {Data: pub},
		".goship/cosign.key": {Data: priv},
	}
	full := `version: 1
keys:
  - name: release
    path: .goship/cosign.pub
  - name: release-2027
    pem: |
` + indent(string(pub2), 6) + `
require: [slsaprovenance1, cyclonedx, https://cosign.sigstore.dev/attestation/vuln/v1]
maxAge: 14d
images:
  - registry.cn-hangzhou.aliyuncs.com/acme/**
allow:
  - image: docker.io/library/redis@` + digest + `
    reason: cache sidecar
`
	p, err := policy.Parse("policy.yaml", []byte(full), repo)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(p.Keys) != 2 || p.Keys[0].Name != "release" || p.Keys[1].Name != "release-2027" {
		t.Errorf("keys %+v", p.Keys)
	}
	want := []string{sign.ProvenancePredicateType, sign.CycloneDXPredicateType, sign.VulnPredicateType}
	if strings.Join(p.Require, " ") != strings.Join(want, " ") {
		t.Errorf("require %v, want %v", p.Require, want)
	}
	if p.MaxAge != 14*24*time.Hour || len(p.Images) != 1 || len(p.Allow) != 1 || p.Allow[0].Reason != "cache sidecar" {
		t.Errorf("policy %+v", p)
	}
	vo := p.VerifyOptions()
	if len(vo.Keys) != 2 || vo.MaxAge != p.MaxAge || len(vo.Require) != 3 {
		t.Errorf("verify options %+v", vo)
	}
	if p, err := policy.Parse("policy.yaml", []byte("keys: [{name: a, path: .goship/cosign.pub}]\n"), repo); err != nil || p.MaxAge != policy.DefaultMaxAge {
		t.Errorf("a policy without maxAge: %+v, %v; want the default %s", p, err, policy.DefaultMaxAge)
	}

	for _, tc := range []struct {
		name, yaml string
		line       int
		field      string
		says       string
	}{
		{"malformed YAML", "require: [vuln]\nkeys:\n- name: a\n\tpath: x\n", 0, "", "line 3: found a tab character"},
		{"unknown field", "keys: [{name: a, path: .goship/cosign.pub}]\nrequires: [vuln]\n", 2, "requires", "unknown field"},
		{"unknown field in a key", "keys:\n  - name: a\n    file: .goship/cosign.pub\n", 3, "keys[0].file", "unknown field"},
		{"unknown predicate type", "keys: [{name: a, path: .goship/cosign.pub}]\nrequire:\n  - slsaprovenance1\n  - sbom\n", 4, "require[1]", `unknown predicate type "sbom"`},
		{"a private key", "keys:\n  - name: a\n    path: .goship/cosign.key\n", 3, "keys[0].path", "this is a private key"},
		{"a key that is not PEM", "keys:\n  - name: a\n    pem: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG\n", 3, "keys[0].pem", "not a PEM public key"},
		{"a damaged key", "keys:\n  - name: a\n    pem: |\n      -----BEGIN PUBLIC KEY-----\n      AAAA\n      -----END PUBLIC KEY-----\n", 3, "keys[0].pem", "verify key"},
		{"a key outside the repository", "keys:\n  - name: a\n    path: ../other/cosign.pub\n", 3, "keys[0].path", "inside it"},
		{"a missing key file", "keys:\n  - name: a\n    path: .goship/none.pub\n", 3, "keys[0].path", "cannot read"},
		{"no key", "require: [vuln]\n", 0, "keys", "no trusted key"},
		{"path and pem", "keys:\n  - name: a\n    path: .goship/cosign.pub\n    pem: x\n", 2, "keys[0]", "either path or pem"},
		{"two keys, one name", "keys:\n  - {name: a, path: .goship/cosign.pub}\n  - name: a\n    pem: |\n" + indent(string(pub2), 6) + "\n", 3, "keys[1].name", "names two keys"},
		{"a bad key name", "keys:\n  - {name: Release Key, path: .goship/cosign.pub}\n", 2, "keys[0].name", "lower-case"},
		{"a bad max age", "keys: [{name: a, path: .goship/cosign.pub}]\nmaxAge: a month\n", 2, "maxAge", "not a duration"},
		{"a zero max age", "keys: [{name: a, path: .goship/cosign.pub}]\nmaxAge: 0s\n", 2, "maxAge", "positive"},
		{"an allowed image by tag", "keys: [{name: a, path: .goship/cosign.pub}]\nallow:\n  - image: redis:7\n", 3, "allow[0].image", "not pinned by digest"},
		{"a bad image glob", "keys: [{name: a, path: .goship/cosign.pub}]\nimages: ['acme app']\n", 2, "images[0]", "not an image glob"},
		{"another version", "version: 2\nkeys: [{name: a, path: .goship/cosign.pub}]\n", 1, "version", "version 1"},
		{"not a mapping", "- keys\n", 1, "", "want a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.Parse("policy.yaml", []byte(tc.yaml), repo)
			var pe *policy.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %v, want a *policy.Error", err)
			}
			t.Log(err)
			if pe.File != "policy.yaml" || pe.Line != tc.line || pe.Field != tc.field || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %+v (%q), want line %d, field %q, saying %q", pe, err, tc.line, tc.field, tc.says)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(priv[30:60])) {
				t.Errorf("the error shows the private key: %q", err)
			}
		})
	}

	if _, err := policy.Load(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), project.DefaultPolicyFile) {
		t.Errorf("Load of a repository without a policy: %v", err)
	}
}

// The README's policy example is a policy goship reads.
func TestReadmePolicyParses(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "# .goship/policy.yaml\n")
	example, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("README.md has no ```yaml block starting with # .goship/policy.yaml")
	}
	_, pub := keyPair(t)
	repo := fstest.MapFS{".goship/cosign.pub": {Data: pub}}
	p, err := policy.Parse("README.md", []byte(strings.ReplaceAll(example, "sha256:…", digest)), repo)
	if err != nil {
		t.Fatalf("the README's policy: %v\n%s", err, example)
	}
	if len(p.Keys) != 1 || len(p.Images) == 0 || len(p.Allow) != 1 {
		t.Errorf("the README's policy read as %+v", p)
	}
}
