package sign_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/goship-dev/goship/pipeline/sign"
)

// cosignKey encrypts priv as cosign generate-key-pair does.
func cosignKey(t *testing.T, priv any, password string) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := encrypted.Encrypt(der, []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: enc})
}

func TestLoadKeyFormats(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	sec1, _ := x509.MarshalECPrivateKey(priv)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	const password = "correct horse battery staple"
	enc := cosignKey(t, priv, password)
	want, err := sign.Fingerprint(priv.Public())
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		pem      []byte
		password string
		err      string // empty: loads
	}{
		{"cosign encrypted", enc, password, ""},
		{"PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), "", ""},
		{"SEC 1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), "", ""},
		{"cosign encrypted, wrong password", enc, "Tr0ub4dor&3", "wrong password"},
		{"cosign encrypted, no password", enc, "", "wrong password"},
		{"password for a plain key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), password, "not encrypted"},
		{"ed25519", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}), "", "only ECDSA"},
		{"a public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkcs8}), "", "unsupported PEM block"},
		{"damaged", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8[:40]}), "", "not hold a valid private key"},
		{"not PEM", pkcs8, "", "no PEM block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := sign.LoadKey(tc.pem, []byte(tc.password))
			if tc.err == "" {
				if err != nil || k.Fingerprint() != want {
					t.Fatalf("LoadKey = %v, %v; want fingerprint %s", k, err, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("LoadKey error = %v, want one saying %q", err, tc.err)
			}
			assertNoSecret(t, err.Error(), tc.pem, password)
		})
	}
}

// A key in a log line, a %+v of a struct holding it, or a panic message
// shows its fingerprint, never the private scalar.
func TestKeyNeverFormatsItsSecret(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadKey(cosignKey(t, priv, "pw"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	holder := struct{ Key *sign.Key }{k}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		out := fmt.Sprintf(verb, holder)
		if !strings.Contains(out, k.Fingerprint()) {
			t.Errorf("%s of a key holder = %q: no fingerprint", verb, out)
		}
		for _, secret := range []string{fmt.Sprintf("%x", raw), base64.StdEncoding.EncodeToString(raw), string(raw)} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of a key holder prints the private scalar", verb)
			}
		}
	}
}

// A key pair made with openssl as the package doc says loads, and its
// fingerprint is what openssl computes from the public key.
func TestOpenSSLKeyPair(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl not on PATH: install the Debian package openssl")
	}
	ossl := func(stdin []byte, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	params := ossl(nil, "ecparam", "-genkey", "-name", "prime256v1", "-noout")
	keyPEM := ossl(params, "pkcs8", "-topk8", "-nocrypt")
	pubPEM := ossl(keyPEM, "ec", "-pubout")
	sum := ossl(ossl(pubPEM, "pkey", "-pubin", "-outform", "DER"), "dgst", "-sha256", "-r")

	k, err := sign.LoadKey(keyPEM, nil)
	if err != nil {
		t.Fatalf("LoadKey of openssl's PKCS#8 key: %v", err)
	}
	if want := "sha256:" + strings.Fields(string(sum))[0]; k.Fingerprint() != want {
		t.Fatalf("fingerprint %s, openssl says %s", k.Fingerprint(), want)
	}
	pk, err := sign.ParsePublicKey(pubPEM)
	if err != nil || pk.Fingerprint() != k.Fingerprint() {
		t.Fatalf("ParsePublicKey: %v, %v", pk, err)
	}
}

func assertNoSecret(t *testing.T, s string, keyPEM []byte, password string) {
	t.Helper()
	if strings.Contains(s, password) {
		t.Errorf("%q contains the password", s)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return
	}
	if strings.Contains(s, string(keyPEM)) || strings.Contains(s, fmt.Sprintf("%x", block.Bytes[:16])) {
		t.Errorf("%q contains key material", s)
	}
}
