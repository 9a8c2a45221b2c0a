package sshconn_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// A server whose host key is certified by a CA is trusted through one
// @cert-authority line, as OpenSSH does; a certificate from another CA,
// for another name, or revoked is refused with what to check.
func TestHostCertificates(t *testing.T) {
	ca := testworld.NewHostCA(t)
	srv := testworld.StartSSHD(t, testworld.WithHostCert(ca))
	pattern := knownhosts.Normalize(srv.Addr())
	dial := func(host string, knownHosts []byte) error {
		cfg := config(srv)
		cfg.Host, cfg.PrivateKey, cfg.KnownHosts = host, srv.ClientKeyPEM, knownHosts
		c, err := sshconn.Dial(context.Background(), cfg)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
	other := testworld.NewHostCA(t)
	caKey := ssh.FingerprintSHA256(ca.Signer.PublicKey())
	tests := []struct {
		name       string
		host       string
		knownHosts []byte
		want       string // "" means the connection is trusted
	}{
		{"CA line alone", srv.Host, ca.KnownHostsLine(pattern), ""},
		{"CA line with a wildcard", srv.Host, ca.KnownHostsLine("*"), ""},
		{"CA line next to the pinned key", srv.Host, append(ca.KnownHostsLine(pattern), srv.KnownHosts...), ""},
		{"another CA", srv.Host, other.KnownHostsLine(pattern), "HOST CERTIFICATE NOT TRUSTED"},
		{"another CA, key pinned too", srv.Host, append(other.KnownHostsLine(pattern), srv.KnownHosts...), ""},
		{"CA for other hosts only", srv.Host, ca.KnownHostsLine("*.example.com"), "no entry"},
		{"name not in the certificate", "localhost", ca.KnownHostsLine("*"), `not valid for "localhost"`},
		{"revoked CA", srv.Host, append(ca.KnownHostsLine("*"), []byte("@revoked * "+string(ssh.MarshalAuthorizedKey(ca.Signer.PublicKey())))...), "@revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dial(tt.host, tt.knownHosts)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.want == "HOST CERTIFICATE NOT TRUSTED" && strings.Contains(err.Error(), caKey) == false && !strings.Contains(err.Error(), ssh.FingerprintSHA256(other.Signer.PublicKey())) {
				t.Fatalf("the error names neither CA: %v", err)
			}
		})
	}

	// Trusting only a CA, a server without a certificate is refused, and
	// the error says so.
	plain := testworld.StartSSHD(t)
	cfg := config(plain)
	cfg.PrivateKey, cfg.KnownHosts = plain.ClientKeyPEM, ca.KnownHostsLine("*")
	if _, err := sshconn.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "HostCertificate") {
		t.Fatalf("a server without a certificate: %v", err)
	}
}

// A bracketed IPv6 host is dialled as [::1]:port, never [[::1]]:port.
func TestBracketedIPv6Host(t *testing.T) {
	srv := testworld.StartSSHD(t, testworld.WithIPv6Loopback())
	for _, host := range []string{"[::1]", "::1"} {
		cfg := config(srv)
		cfg.Host, cfg.PrivateKey = host, srv.ClientKeyPEM
		cfg.KnownHosts = []byte(knownhosts.Line([]string{knownhosts.Normalize(fmt.Sprintf("[::1]:%d", srv.Port))}, srv.HostKey) + "\n")
		if got := whoami(t, cfg); got != srv.User {
			t.Fatalf("%s: logged in as %q", host, got)
		}
	}
	for _, bad := range []string{"[10.0.0.5]", "[example.com]", "[::1"} {
		if err := sshconn.ValidateHost(bad); err == nil {
			t.Errorf("ValidateHost(%q) accepted it", bad)
		}
	}
}
