// Package sshconn opens SSH connections to deploy targets, directly or
// through jump hosts, with every host key pinned by known_hosts content,
// and runs commands (with deadlines that end the remote process), streams
// and TCP tunnels over them. Every failure says what to fix: an unknown
// or mismatched host key, a refused key, an unreachable host.
package sshconn

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// KeepAliveWait is how long a hop may leave a keepalive unanswered
	// before the connection (every hop of it) is closed (default 2m:
	// generous, as a slow link busy uploading an image answers late, but
	// a stalled link no longer hangs its command forever).
	KeepAliveWait time.Duration
	// Jump is the chain of jump hosts (bastions) to reach Host through,
	// first hop first; empty means Host is dialled directly. Each hop's
	// host key is checked before anything is sent through it.
	Jump []Hop
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

// Validate checks the config, and every jump host's, before any network
// traffic.
func (c Config) Validate() error {
	for _, h := range c.chain() {
		if err := h.cfg.validateOne(); err != nil {
			if h.jump {
				return fmt.Errorf("%s: %w", h.name, err)
			}
			return err
		}
	}
	return nil
}

// validateOne checks one connection's settings (not its jump hosts).
func (c Config) validateOne() error {
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

// Client is an open connection to the server; through jump hosts, the
// embedded client is the server's and jumps hold the hops in front of it.
type Client struct {
	*ssh.Client
	cfg       Config
	jumps     []*ssh.Client
	done      chan struct{}
	closeOnce sync.Once
}

// Dial connects, through cfg.Jump's hosts in order when there are any,
// verifying each host key against known_hosts before authenticating or
// sending anything through that hop: a bastion with a wrong key is
// refused before the next hop or the server is contacted.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	return dial(ctx, cfg, nil)
}

// DialVia is Dial starting from an open connection instead of from here:
// cfg's host (through cfg.Jump, if any) is dialled as a TCP channel of
// via. A fleet behind one bastion dials the bastion once and every host
// through it, instead of logging in to the bastion once per host.
// Closing the returned client leaves via open; closing via ends it.
func DialVia(ctx context.Context, via *Client, cfg Config) (*Client, error) {
	if via == nil {
		return nil, fmt.Errorf("ssh %s: DialVia needs an open connection to dial through", cfg.Addr())
	}
	return dial(ctx, cfg, via)
}

func dial(ctx context.Context, cfg Config, via *Client) (*Client, error) {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 15 * time.Second
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.KeepAliveWait == 0 {
		cfg.KeepAliveWait = 2 * time.Minute
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	chain := cfg.chain()
	// Every hop's known_hosts entry and key are read before the first
	// connection, so a typo fails here, not after a bastion login.
	clientCfgs := make([]*ssh.ClientConfig, len(chain))
	for i, h := range chain {
		hostKeys, algos, err := hostKeyCallback(h)
		if err != nil {
			return nil, err
		}
		auth, closeAgent, err := authMethod(ctx, h.cfg)
		if err != nil {
			if h.jump {
				return nil, fmt.Errorf("%s: %w", h.name, err)
			}
			return nil, err
		}
		defer closeAgent()
		clientCfgs[i] = &ssh.ClientConfig{
			User:              h.cfg.User,
			Auth:              []ssh.AuthMethod{auth},
			HostKeyCallback:   hostKeys,
			HostKeyAlgorithms: algos,
			Timeout:           cfg.DialTimeout,
		}
	}
	var jumps []*ssh.Client
	closeJumps := func() {
		for i := len(jumps) - 1; i >= 0; i-- {
			_ = jumps[i].Close()
		}
	}
	dialNext, from := (&net.Dialer{}).DialContext, ""
	if via != nil {
		dialNext, from = via.DialContext, via.Target()
	}
	for i, h := range chain {
		c, err := dialHop(ctx, dialNext, h, clientCfgs[i], cfg.DialTimeout, from)
		if err != nil {
			closeJumps()
			return nil, err
		}
		if h.jump {
			jumps = append(jumps, c)
			dialNext, from = c.DialContext, h.name
			continue
		}
		client := &Client{Client: c, cfg: cfg, jumps: jumps, done: make(chan struct{})}
		// The server's connection runs inside the hops': when it ends,
		// for whatever reason, they have nothing left to carry.
		go func() { _ = c.Wait(); client.closeChain() }()
		for _, sc := range append(slices.Clone(jumps), c) {
			go client.keepAlive(sc)
		}
		return client, nil
	}
	panic("unreachable: a chain ends with the server")
}

// dialHop opens the TCP connection to h with dial (directly, or as a
// channel of the previous hop, named by from) and runs the SSH handshake,
// all within timeout.
func dialHop(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), h hop, clientCfg *ssh.ClientConfig, timeout time.Duration, from string) (*ssh.Client, error) {
	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dial(dialCtx, "tcp", h.cfg.Addr())
	if err != nil {
		via := ""
		if from != "" {
			via = " from " + from
		}
		return nil, fmt.Errorf("ssh %s unreachable%s: %w (check the host, the port and any firewall/security group)", h.name, via, err)
	}
	// A channel through a jump host has no deadlines: closing the
	// connection is what ends a handshake that hangs, for both kinds.
	stop := context.AfterFunc(dialCtx, func() { _ = conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, h.cfg.Addr(), clientCfg)
	if !stop() {
		if err == nil {
			_ = c.Close()
		}
		_ = conn.Close()
		return nil, fmt.Errorf("ssh %s: no handshake within %s: %w (is it an SSH server, and is the link up?)", h.name, timeout, dialCtx.Err())
	}
	if err != nil {
		_ = conn.Close()
		return nil, explainHandshake(h, err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// Close closes the connection to the server, then every jump host's,
// and stops keepalives.
func (c *Client) Close() error {
	err := c.Client.Close()
	c.closeChain()
	return err
}

// closeChain stops keepalives and closes the jump hosts, last first.
func (c *Client) closeChain() {
	c.closeOnce.Do(func() {
		close(c.done)
		for i := len(c.jumps) - 1; i >= 0; i-- {
			_ = c.jumps[i].Close()
		}
	})
}

// keepAlive asks hop (the server or a jump host) for an answer every
// KeepAlive. A hop that does not answer within KeepAliveWait takes the
// whole chain down: a link that stalls must not leave a command waiting
// on it forever.
func (c *Client) keepAlive(hop *ssh.Client) {
	t := time.NewTicker(c.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if !c.answers(hop) {
				_ = c.Client.Close()
				c.closeChain()
				return
			}
		}
	}
}

// answers sends one keepalive request to hop and waits for the reply.
func (c *Client) answers(hop *ssh.Client) bool {
	reply := make(chan error, 1)
	go func() {
		_, _, err := hop.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err // a request still pending ends when the chain closes
	}()
	timer := time.NewTimer(c.cfg.KeepAliveWait)
	defer timer.Stop()
	select {
	case err := <-reply:
		return err == nil
	case <-timer.C:
		return false
	case <-c.done:
		return true // closing anyway
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
func hostKeyCallback(h hop) (ssh.HostKeyCallback, []string, error) {
	cfg := h.cfg
	kh, err := parseKnownHosts(cfg.KnownHosts, cfg.Addr())
	if err != nil {
		if h.jump {
			return nil, nil, fmt.Errorf("%s: %w", h.name, err)
		}
		return nil, nil, err
	}
	if len(kh.pinned) == 0 && len(kh.authorities) == 0 && h.jump {
		return nil, nil, fmt.Errorf("known_hosts has no entry for %s: add it with `ssh-keyscan -p %d %s` and verify the fingerprint against the bastion before trusting it", h.name, cfg.Port, hostOnly(cfg.Host))
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

func explainHandshake(h hop, err error) error {
	msg, name, user := err.Error(), h.name, h.cfg.User
	var hostKey *HostKeyError
	var noAlgorithm *ssh.AlgorithmNegotiationError
	switch {
	case errors.As(err, &hostKey):
		return fmt.Errorf("ssh %s: %w", name, err)
	// x/crypto/ssh has no error type for a refused login, only this text.
	case strings.Contains(msg, "unable to authenticate"):
		return fmt.Errorf("ssh %s: the server refused the key for user %q: is its public key in ~%s/.ssh/authorized_keys, and is the account unlocked?", name, user, user)
	case errors.As(err, &noAlgorithm) && noAlgorithm.What == "host key":
		return fmt.Errorf("ssh %s: the server offers no host key or certificate of a type known_hosts can verify (a @cert-authority line needs HostCertificate in the server's sshd_config; a pinned key needs its type): %w", name, err)
	case errors.Is(err, io.EOF) || strings.Contains(msg, "connection reset"):
		return fmt.Errorf("ssh %s: the server closed the connection during the handshake (MaxStartups, AllowUsers or a fail2ban rule?): %w", name, err)
	}
	return fmt.Errorf("ssh %s: handshake: %w", name, err)
}
