package sshconn

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// certAlgorithms are the host certificate types offered when known_hosts
// trusts a CA for the host. The certified key's type is not known in
// advance (a CA of one type signs host keys of any type).
var certAlgorithms = []string{
	ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
}

// knownHosts is known_hosts content split the way it is checked: pinned
// (and revoked) keys through knownhosts, and the @cert-authority keys
// that apply to the host, for an ssh.CertChecker.
//
// github.com/skeema/knownhosts (v1.3.3) was tried for this and not kept:
// its wildcard fix matches any pattern holding '*' on every port
// ("*.example.com" would trust a.example.com:2222, which OpenSSH does
// not), and its HostKeyAlgorithms offers only the CA's own key type as a
// certificate type, though a CA signs host keys of any type.
type knownHosts struct {
	plain       ssh.HostKeyCallback
	pinned      []knownhosts.KnownKey
	authorities []ssh.PublicKey
}

// parseKnownHosts reads content for addr (host:port).
func parseKnownHosts(content []byte, addr string) (*knownHosts, error) {
	var plainLines, caLines [][]byte
	for _, line := range bytes.Split(content, []byte("\n")) {
		marker, _, _, _, _, err := ssh.ParseKnownHosts(line)
		if err == nil && marker == "cert-authority" {
			caLines = append(caLines, line)
			continue
		}
		plainLines = append(plainLines, line)
	}
	plain, err := knownhostsCallback(bytes.Join(plainLines, []byte("\n")))
	if err != nil {
		return nil, err
	}
	kh := &knownHosts{plain: plain, pinned: knownKeys(plain, addr)}
	for _, line := range caLines {
		_, hosts, caKey, _, _, _ := ssh.ParseKnownHosts(line)
		ok, err := caAppliesTo(line, hosts, caKey, addr)
		if err != nil {
			return nil, err
		}
		if ok {
			kh.authorities = append(kh.authorities, caKey)
		}
	}
	return kh, nil
}

// caAppliesTo reports whether a @cert-authority line's host patterns
// match addr the way OpenSSH matches them: against "host" on port 22 and
// "[host]:port" otherwise, so "*" matches every host on every port
// (knownhosts would match it on port 22 only). Hashed patterns go to
// knownhosts, which checks them exactly as OpenSSH does.
func caAppliesTo(line []byte, hosts []string, caKey ssh.PublicKey, addr string) (bool, error) {
	if slices.ContainsFunc(hosts, func(h string) bool { return strings.HasPrefix(h, "|") }) {
		// The same line without its marker must pin the CA key for addr.
		asPinned := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(line), []byte("@cert-authority")))
		check, err := knownhostsCallback(asPinned)
		if err != nil {
			return false, err
		}
		return check(addr, &net.TCPAddr{IP: net.IPv4zero}, caKey) == nil, nil
	}
	name := knownhosts.Normalize(addr)
	matched := false
	for _, p := range hosts {
		negated := strings.HasPrefix(p, "!")
		if !wildcardMatch(strings.TrimPrefix(p, "!"), name) {
			continue
		}
		if negated {
			return false, nil // a negated match rules the line out
		}
		matched = true
	}
	return matched, nil
}

// wildcardMatch is OpenSSH's pattern match: '*' is any run of characters,
// '?' one character, everything else itself (case-insensitively, as host
// names are).
func wildcardMatch(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcardMatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return s == ""
}

// knownhostsCallback parses known_hosts content with knownhosts, which
// reads only files.
func knownhostsCallback(content []byte) (ssh.HostKeyCallback, error) {
	f, err := os.CreateTemp("", "goship-known-hosts-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(content); err != nil {
		_ = f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	db, err := knownhosts.New(f.Name())
	if err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	return db, nil
}

// algorithms are the host key algorithms to offer: certificates first
// when a CA is trusted (as OpenSSH does), then the pinned keys' types.
func (kh *knownHosts) algorithms() []string {
	var algos []string
	if len(kh.authorities) > 0 {
		algos = append(algos, certAlgorithms...)
	}
	for _, k := range kh.pinned {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// check verifies the server's host key: a certificate against the
// trusted CAs (principals, validity, revocation), a plain key against the
// pinned ones.
func (kh *knownHosts) check(cfg Config) ssh.HostKeyCallback {
	name := knownhosts.Normalize(cfg.Addr())
	revoked := func(key ssh.PublicKey) bool {
		var r *knownhosts.RevokedError
		return errors.As(kh.plain(cfg.Addr(), &net.TCPAddr{IP: net.IPv4zero}, key), &r)
	}
	checker := &ssh.CertChecker{
		IsHostAuthority: func(auth ssh.PublicKey, _ string) bool {
			return slices.ContainsFunc(kh.authorities, func(ca ssh.PublicKey) bool { return bytes.Equal(ca.Marshal(), auth.Marshal()) })
		},
		IsRevoked: func(cert *ssh.Certificate) bool { return revoked(cert.Key) || revoked(cert.SignatureKey) },
	}
	pinned := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := kh.plain(hostname, remote, key)
		var keyErr *knownhosts.KeyError
		if errors.As(err, &keyErr) && len(keyErr.Want) > 0 {
			var want []string
			for _, w := range keyErr.Want {
				want = append(want, ssh.FingerprintSHA256(w.Key))
			}
			return fmt.Errorf("HOST KEY MISMATCH for %s: the server presented %s %s but known_hosts pins %s. Someone may be intercepting the connection, or the server was rebuilt; verify before updating known_hosts",
				name, key.Type(), ssh.FingerprintSHA256(key), strings.Join(want, ", "))
		}
		if errors.As(err, &keyErr) && len(kh.authorities) > 0 {
			return fmt.Errorf("host key for %s: the server presented a plain %s key %s, not a certificate, and known_hosts pins no key for it, only a certificate authority: configure HostCertificate in its sshd_config, or pin its key (ssh-keyscan, then verify the fingerprint)",
				name, key.Type(), ssh.FingerprintSHA256(key))
		}
		if err != nil {
			return fmt.Errorf("host key for %s (%s): %w", name, ssh.FingerprintSHA256(key), err)
		}
		return nil
	}
	verify := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		cert, ok := key.(*ssh.Certificate)
		if !ok {
			return pinned(hostname, remote, key)
		}
		err := checker.CheckHostKey(hostname, remote, key)
		if err == nil {
			return nil
		}
		// As OpenSSH does, a certificate that does not verify still
		// passes when its key itself is pinned.
		if len(kh.pinned) > 0 && pinned(hostname, remote, cert.Key) == nil {
			return nil
		}
		return certError(name, hostname, cert, kh.authorities, revoked, err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		if err := verify(hostname, remote, key); err != nil {
			return &HostKeyError{Err: err}
		}
		return nil
	}
}

// HostKeyError is a server's host key or certificate that known_hosts
// does not vouch for; Err says why, in terms of what to check.
type HostKeyError struct{ Err error }

func (e *HostKeyError) Error() string { return e.Err.Error() }
func (e *HostKeyError) Unwrap() error { return e.Err }

// certError says why a host certificate was refused, in terms of what to
// check.
func certError(name, hostname string, cert *ssh.Certificate, authorities []ssh.PublicKey, revoked func(ssh.PublicKey) bool, err error) error {
	host, _, _ := net.SplitHostPort(hostname)
	signer := ssh.FingerprintSHA256(cert.SignatureKey)
	trusted := slices.ContainsFunc(authorities, func(ca ssh.PublicKey) bool { return bytes.Equal(ca.Marshal(), cert.SignatureKey.Marshal()) })
	switch {
	case revoked(cert.Key) || revoked(cert.SignatureKey):
		return fmt.Errorf("host certificate of %s (CA %s) is marked @revoked in known_hosts", name, signer)
	case !trusted:
		var cas []string
		for _, ca := range authorities {
			cas = append(cas, ssh.FingerprintSHA256(ca))
		}
		if len(cas) == 0 {
			cas = []string{"none for this host"}
		}
		return fmt.Errorf("HOST CERTIFICATE NOT TRUSTED for %s: it is signed by CA %s, but known_hosts trusts %s. Someone may be intercepting the connection, or the host was re-signed by another CA; verify before trusting it",
			name, signer, strings.Join(cas, ", "))
	case !slices.Contains(cert.ValidPrincipals, host):
		return fmt.Errorf("host certificate of %s (CA %s) is not valid for %q: it names %q; connect by one of those names, or re-sign the host key with this one", name, signer, host, cert.ValidPrincipals)
	}
	return fmt.Errorf("host certificate of %s (CA %s): %w", name, signer, err)
}
