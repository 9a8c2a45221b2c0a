package testworld

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// HostCA is an SSH certificate authority that signs host keys, as fleets
// that trust servers through one @cert-authority line do.
type HostCA struct {
	Signer ssh.Signer
}

// NewHostCA makes a fresh ed25519 host CA.
func NewHostCA(t testing.TB) *HostCA {
	t.Helper()
	priv, _ := newKey(t)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &HostCA{Signer: signer}
}

// KnownHostsLine trusts the CA for hosts matching pattern (e.g.
// "[127.0.0.1]:2222" or "*"), and nothing else: no host key is pinned.
func (ca *HostCA) KnownHostsLine(pattern string) []byte {
	return []byte("@cert-authority " + pattern + " " + string(ssh.MarshalAuthorizedKey(ca.Signer.PublicKey())))
}

// WithHostCert makes sshd present its host key certified by ca for
// principals (default: the address it listens on), valid for an hour.
func WithHostCert(ca *HostCA, principals ...string) SSHDOption {
	return func(t testing.TB, s *SSHServer, hostKey ssh.Signer, dir string) string {
		t.Helper()
		if len(principals) == 0 {
			principals = []string{s.Host}
		}
		cert := &ssh.Certificate{
			Key:             hostKey.PublicKey(),
			CertType:        ssh.HostCert,
			KeyId:           "goship-test-host",
			ValidPrincipals: principals,
			ValidAfter:      uint64(time.Now().Add(-time.Hour).Unix()),
			ValidBefore:     uint64(time.Now().Add(time.Hour).Unix()),
		}
		if err := cert.SignCert(rand.Reader, ca.Signer); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "ssh_host_ed25519_key-cert.pub")
		writeFile(t, path, ssh.MarshalAuthorizedKey(cert), 0o644)
		return fmt.Sprintf("HostCertificate %s\n", path)
	}
}

// WithIPv6Loopback makes sshd listen on [::1] too, on the same port.
func WithIPv6Loopback() SSHDOption {
	return func(testing.TB, *SSHServer, ssh.Signer, string) string {
		return "ListenAddress ::1\n"
	}
}
