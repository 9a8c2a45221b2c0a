package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// PEM block types of cosign's password-encrypted private keys (scrypt +
// secretbox over PKCS#8); cosign generate-key-pair writes the first.
const (
	sigstoreKeyType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	cosignKeyType   = "ENCRYPTED COSIGN PRIVATE KEY"
)

// Key is a private signing key. Its formatted forms (%v, %s, %#v) show
// only the public key's fingerprint, so a log line cannot leak it.
type Key struct {
	sv          signature.SignerVerifier
	alg         signature.AlgorithmDetails
	pub         crypto.PublicKey
	fingerprint string
	hint        string
}

// LoadKey reads an ECDSA private key in PEM: cosign's encrypted format
// (ENCRYPTED SIGSTORE PRIVATE KEY, from cosign generate-key-pair) with its
// password, or unencrypted PKCS#8 (PRIVATE KEY) or SEC 1 (EC PRIVATE KEY),
// for which password must be empty. Errors never contain the key or the
// password.
func LoadKey(keyPEM, password []byte) (*Key, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("signing key: no PEM block found (want the private key file of cosign generate-key-pair, or a PKCS#8 PEM key)")
	}
	var (
		priv any
		err  error
	)
	switch block.Type {
	case sigstoreKeyType, cosignKeyType:
		der, derr := encrypted.Decrypt(block.Bytes, password)
		if derr != nil {
			return nil, fmt.Errorf("signing key: decrypting the %s block failed: wrong password, or a damaged key file", block.Type)
		}
		priv, err = x509.ParsePKCS8PrivateKey(der)
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("signing key: PKCS#8 encrypted keys (openssl -v2) are not supported: use cosign generate-key-pair, or export the key unencrypted into a secret")
	default:
		return nil, fmt.Errorf("signing key: unsupported PEM block %q (want %q, PRIVATE KEY or EC PRIVATE KEY)", block.Type, sigstoreKeyType)
	}
	if err != nil {
		return nil, errors.New("signing key: the PEM block does not hold a valid private key")
	}
	if block.Type != sigstoreKeyType && block.Type != cosignKeyType && len(password) > 0 {
		return nil, fmt.Errorf("signing key: a password was given but the %s block is not encrypted", block.Type)
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key: %T is not supported, only ECDSA (cosign's default, P-256)", priv)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(ec.Public())
	if err != nil {
		return nil, errors.New("signing key: the ECDSA curve is not one Sigstore signs with (want P-256, P-384 or P-521)")
	}
	sv, err := signature.LoadECDSASignerVerifier(ec, alg.GetHashType())
	if err != nil {
		return nil, errors.New("signing key: the ECDSA key is not usable for signing (curve not supported?)")
	}
	fp, err := Fingerprint(ec.Public())
	if err != nil {
		return nil, err
	}
	return &Key{sv: sv, alg: alg, pub: ec.Public(), fingerprint: fp, hint: keyHint(ec.Public())}, nil
}

// Fingerprint of the public key.
func (k *Key) Fingerprint() string { return k.fingerprint }

// PublicKeyPEM is the public half, as cosign's cosign.pub.
func (k *Key) PublicKeyPEM() ([]byte, error) {
	return cryptoutils.MarshalPublicKeyToPEM(k.pub)
}

// String names the key by its fingerprint.
func (k *Key) String() string { return "signing key " + k.fingerprint }

// GoString is String, so %#v shows no key material.
func (k *Key) GoString() string { return k.String() }

// Format prints String for every verb (%x and %d included).
func (k *Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// Fingerprint is "sha256:" and the hex SHA-256 of the public key's DER
// (SubjectPublicKeyInfo), i.e. of
// `openssl pkey -pubin -in cosign.pub -outform DER | sha256sum`.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("fingerprint of a %T key: %w", pub, err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// keyHint is the key id Sigstore bundles carry (verificationMaterial.
// publicKey.hint): base64 of the SHA-256 of the public key's DER, as
// sigstore-go and cosign v3 write it. It names a key; it proves nothing.
func keyHint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// keypair lets sigstore-go's sign.Bundle sign with k (sign.Keypair).
type keypair struct{ k *Key }

func (p keypair) GetHashAlgorithm() protocommon.HashAlgorithm { return p.k.alg.GetProtoHashType() }
func (p keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return p.k.alg.GetSignatureAlgorithm()
}
func (p keypair) GetHint() []byte                { return []byte(p.k.hint) }
func (p keypair) GetKeyAlgorithm() string        { return "ECDSA" }
func (p keypair) GetPublicKey() crypto.PublicKey { return p.k.pub }
func (p keypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(p.k.pub)
	return string(b), err
}

// SignData signs data's digest and returns the signature and the digest.
func (p keypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	h := p.k.alg.GetHashType().New()
	h.Write(data)
	digest := h.Sum(nil)
	sig, err := p.k.sv.SignMessage(bytes.NewReader(data), options.WithContext(ctx), options.WithDigest(digest))
	if err != nil {
		return nil, nil, err
	}
	return sig, digest, nil
}

// PublicKey is a verification key.
type PublicKey struct {
	v           signature.Verifier
	pub         crypto.PublicKey
	fingerprint string
	hint        string
}

// ParsePublicKey reads a PEM public key (cosign.pub).
func ParsePublicKey(pubPEM []byte) (*PublicKey, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("verify key: not a PEM public key (want the cosign.pub of cosign generate-key-pair): %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("verify key: %T is not supported, only ECDSA (cosign's default, P-256)", pub)
	}
	alg, err := signature.GetDefaultAlgorithmDetails(ec)
	if err != nil {
		return nil, errors.New("verify key: the ECDSA curve is not one Sigstore signs with (want P-256, P-384 or P-521)")
	}
	v, err := signature.LoadECDSAVerifier(ec, alg.GetHashType())
	if err != nil {
		return nil, fmt.Errorf("verify key: %w", err)
	}
	fp, err := Fingerprint(ec)
	if err != nil {
		return nil, err
	}
	return &PublicKey{v: v, pub: ec, fingerprint: fp, hint: keyHint(ec)}, nil
}

// Fingerprint of the key.
func (p *PublicKey) Fingerprint() string { return p.fingerprint }

// PEM is the key as cosign.pub holds it.
func (p *PublicKey) PEM() ([]byte, error) { return cryptoutils.MarshalPublicKeyToPEM(p.pub) }

// PublicKey is the verification half of k.
func (k *Key) PublicKey() *PublicKey {
	return &PublicKey{v: k.sv, pub: k.pub, fingerprint: k.fingerprint, hint: k.hint}
}
