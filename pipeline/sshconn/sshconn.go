// Package sshconn opens SSH connections to deploy targets with the host
// key pinned by known_hosts content, and runs commands, streams and TCP
// tunnels over them. Every failure says what to fix: an unknown or
// mismatched host key, a refused key, an unreachable host.
package sshconn

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Config says where to connect and how to prove who we are.
type Config struct {
	Host string
	Port int
	User string
	// PrivateKey is a PEM/OpenSSH private key (ed25519, RSA or ECDSA).
	PrivateKey []byte
	// Passphrase decrypts PrivateKey when it is encrypted.
	Passphrase []byte
	// AgentSocket is an ssh-agent socket, used when PrivateKey is empty.
	AgentSocket string
	// KnownHosts is known_hosts content. It is required: the server's
	// host key must be pinned before anything is sent.
	KnownHosts []byte
	// DialTimeout bounds TCP connect plus handshake (default 15s).
	DialTimeout time.Duration
	// KeepAlive is the interval of keepalive requests (default 15s);
	// a connection that stops answering is closed.
	KeepAlive time.Duration
}

// Addr is host:port, with an IPv6 host in brackets once ([::1]:22),
// whether or not Host has them.
func (c Config) Addr() string { return net.JoinHostPort(hostOnly(c.Host), strconv.Itoa(c.Port)) }

// hostOnly is h without the brackets of a bracketed IPv6 address.
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return h[1 : len(h)-1]
	}
	return h
}

// Validate checks the config before any network traffic.
func (c Config) Validate() error {
	if err := ValidateHost(c.Host); err != nil {
		return err
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("ssh port %d: must be 1-65535", c.Port)
	}
	if err := ValidateUser(c.User); err != nil {
		return err
	}
	if len(bytes.TrimSpace(c.KnownHosts)) == 0 {
		return fmt.Errorf("known_hosts is required: run `ssh-keyscan -p %d %s`, compare the fingerprint with the server's (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server), then pass the line", c.Port, c.Host)
	}
	if len(c.PrivateKey) == 0 && c.AgentSocket == "" {
		return fmt.Errorf("ssh: give a private key or an ssh-agent socket")
	}
	return nil
}

// Client is an open connection.
type Client struct {
	*ssh.Client
	cfg  Config
	done chan struct{}
}

// Dial connects, verifying the host key against cfg.KnownHosts before
// authenticating.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hostKeys, algos, err := hostKeyCallback(cfg)
	if err != nil {
		return nil, err
	}
	auth, closeAgent, err := authMethod(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	clientCfg := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              []ssh.AuthMethod{auth},
		HostKeyCallback:   hostKeys,
		HostKeyAlgorithms: algos,
		Timeout:           cfg.DialTimeout,
	}
	dialCtx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dialCtx, "tcp", cfg.Addr())
	if err != nil {
		return nil, fmt.Errorf("ssh %s unreachable: %w (check the host, the port and any firewall/security group)", cfg.Addr(), err)
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.DialTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, cfg.Addr(), clientCfg)
	if err != nil {
		_ = conn.Close()
		return nil, explainHandshake(cfg, err)
	}
	_ = conn.SetDeadline(time.Time{})
	client := &Client{Client: ssh.NewClient(c, chans, reqs), cfg: cfg, done: make(chan struct{})}
	go client.keepAlive()
	return client, nil
}

// Close closes the connection and stops keepalives.
func (c *Client) Close() error {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	return c.Client.Close()
}

func (c *Client) keepAlive() {
	t := time.NewTicker(c.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				_ = c.Client.Close()
				return
			}
		}
	}
}

// Target names the connection for messages: user@host:port.
func (c *Client) Target() string { return c.cfg.User + "@" + c.cfg.Addr() }

func authMethod(ctx context.Context, cfg Config) (ssh.AuthMethod, func(), error) {
	noop := func() {}
	if len(cfg.PrivateKey) > 0 {
		var signer ssh.Signer
		var err error
		if len(cfg.Passphrase) > 0 {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(cfg.PrivateKey, cfg.Passphrase)
		} else {
			signer, err = ssh.ParsePrivateKey(cfg.PrivateKey)
		}
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, noop, fmt.Errorf("ssh private key is encrypted: pass its passphrase")
		}
		if err != nil {
			return nil, noop, fmt.Errorf("ssh private key: %w (want an OpenSSH or PEM ed25519, RSA or ECDSA key)", err)
		}
		return ssh.PublicKeys(signer), noop, nil
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", cfg.AgentSocket)
	if err != nil {
		return nil, noop, fmt.Errorf("ssh-agent at %s: %w", cfg.AgentSocket, err)
	}
	return ssh.PublicKeysCallback(agent.NewClient(conn).Signers), func() { _ = conn.Close() }, nil
}

// hostKeyCallback builds the host key check from known_hosts (pinned
// keys and @cert-authority lines) and the host key algorithms to offer,
// so the server presents a key or certificate we can verify rather than
// another type.
func hostKeyCallback(cfg Config) (ssh.HostKeyCallback, []string, error) {
	kh, err := parseKnownHosts(cfg.KnownHosts, cfg.Addr())
	if err != nil {
		return nil, nil, err
	}
	if len(kh.pinned) == 0 && len(kh.authorities) == 0 {
		return nil, nil, fmt.Errorf("known_hosts has no entry for %s: add it with `ssh-keyscan -p %d %s` and verify the fingerprint against the server before trusting it", knownhosts.Normalize(cfg.Addr()), cfg.Port, hostOnly(cfg.Host))
	}
	return kh.check(cfg), kh.algorithms(), nil
}

// knownKeys asks the known_hosts callback which keys it holds for addr, by
// offering a key it cannot hold.
func knownKeys(db ssh.HostKeyCallback, addr string) []knownhosts.KnownKey {
	probe, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		return nil
	}
	err = db(addr, &net.TCPAddr{IP: net.IPv4zero}, probe)
	var keyErr *knownhosts.KeyError
	if errors.As(err, &keyErr) {
		return keyErr.Want
	}
	return nil
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

func explainHandshake(cfg Config, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "HOST KEY MISMATCH"), strings.Contains(msg, "host key for"):
		return fmt.Errorf("ssh %s: %w", cfg.Addr(), err)
	case strings.Contains(msg, "unable to authenticate"):
		return fmt.Errorf("ssh %s: the server refused the key for user %q: is its public key in ~%s/.ssh/authorized_keys, and is the account unlocked?", cfg.Addr(), cfg.User, cfg.User)
	case strings.Contains(msg, "no common algorithm for host key"):
		return fmt.Errorf("ssh %s: the server offers no host key or certificate of a type known_hosts can verify (a @cert-authority line needs HostCertificate in the server's sshd_config; a pinned key needs its type): %w", cfg.Addr(), err)
	case errors.Is(err, io.EOF) || strings.Contains(msg, "connection reset"):
		return fmt.Errorf("ssh %s: the server closed the connection during the handshake (MaxStartups, AllowUsers or a fail2ban rule?): %w", cfg.Addr(), err)
	}
	return fmt.Errorf("ssh %s: handshake: %w", cfg.Addr(), err)
}
