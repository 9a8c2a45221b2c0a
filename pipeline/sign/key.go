package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
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
	pub         crypto.PublicKey
	fingerprint string
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
	sv, err := signature.LoadECDSASignerVerifier(ec, crypto.SHA256)
	if err != nil {
		return nil, errors.New("signing key: the ECDSA key is not usable for signing (curve not supported?)")
	}
	fp, err := Fingerprint(ec.Public())
	if err != nil {
		return nil, err
	}
	return &Key{sv: sv, pub: ec.Public(), fingerprint: fp}, nil
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

// PublicKey is a verification key.
type PublicKey struct {
	v           signature.Verifier
	pub         crypto.PublicKey
	fingerprint string
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
	v, err := signature.LoadECDSAVerifier(ec, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("verify key: %w", err)
	}
	fp, err := Fingerprint(ec)
	if err != nil {
		return nil, err
	}
	return &PublicKey{v: v, pub: ec, fingerprint: fp}, nil
}

// Fingerprint of the key.
func (p *PublicKey) Fingerprint() string { return p.fingerprint }
