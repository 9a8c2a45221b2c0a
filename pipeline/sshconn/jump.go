package sshconn

import (
	"fmt"
	"strings"
)

// Hop is one jump host on the way to the server, as OpenSSH's ProxyJump:
// the connection to the next hop (or the server) is a TCP channel opened
// by this one. Empty fields are taken from the server's Config: User,
// the key (PrivateKey with Passphrase, or AgentSocket) and KnownHosts.
// The agent, when used, only signs: it is never forwarded to a hop.
type Hop struct {
	Host        string
	Port        int
	User        string
	PrivateKey  []byte
	Passphrase  []byte
	AgentSocket string
	KnownHosts  []byte
}

// Addr is host:port, as Config.Addr.
func (h Hop) Addr() string { return Config{Host: h.Host, Port: h.Port}.Addr() }

// ParseJump reads one --jump value, "[user@]host[:port]" (port 22 by
// default, an IPv6 host in brackets: "deploy@[fd00::5]:2222"). An empty
// user means the server's.
func ParseJump(s string) (Hop, error) {
	user, hostPort := "", s
	if i := strings.LastIndex(s, "@"); i >= 0 {
		user, hostPort = s[:i], s[i+1:]
		if err := ValidateUser(user); err != nil {
			return Hop{}, fmt.Errorf("jump host %q: %w", s, err)
		}
	}
	if hostPort == "" {
		return Hop{}, fmt.Errorf("jump host %q: no host: want [user@]host[:port], as in deploy@bastion.example.com:22", s)
	}
	host, port, err := ParseHostPort(hostPort)
	if err != nil {
		return Hop{}, fmt.Errorf("jump host %q: %w (want [user@]host[:port])", s, err)
	}
	return Hop{Host: host, Port: port, User: user}, nil
}

// ParseJumps reads a repeated --jump flag: the first value is the first
// hop from here, the last the one next to the server.
func ParseJumps(values []string) ([]Hop, error) {
	hops := make([]Hop, 0, len(values))
	for i, v := range values {
		h, err := ParseJump(v)
		if err != nil {
			return nil, fmt.Errorf("--jump #%d: %w", i+1, err)
		}
		hops = append(hops, h)
	}
	return hops, nil
}

// hop is one connection of a chain: its full Config and how messages
// name it.
type hop struct {
	cfg  Config
	name string // "bastion 10.0.0.5:22 (jump 1 of 2)", or the server's address
	jump bool
}

// chain lists the connections Dial makes, jump hosts first, each with
// the server's credentials and known_hosts where it has none of its own.
func (c Config) chain() []hop {
	out := make([]hop, 0, len(c.Jump)+1)
	for i, j := range c.Jump {
		hc := Config{
			Host: j.Host, Port: j.Port, User: j.User,
			PrivateKey: j.PrivateKey, Passphrase: j.Passphrase, AgentSocket: j.AgentSocket,
			KnownHosts:  j.KnownHosts,
			DialTimeout: c.DialTimeout, KeepAlive: c.KeepAlive,
		}
		if hc.User == "" {
			hc.User = c.User
		}
		if len(hc.PrivateKey) == 0 && hc.AgentSocket == "" {
			hc.PrivateKey, hc.Passphrase, hc.AgentSocket = c.PrivateKey, c.Passphrase, c.AgentSocket
		}
		if len(hc.KnownHosts) == 0 {
			hc.KnownHosts = c.KnownHosts
		}
		out = append(out, hop{cfg: hc, jump: true, name: fmt.Sprintf("bastion %s (jump %d of %d)", hc.Addr(), i+1, len(c.Jump))})
	}
	server := c
	server.Jump = nil
	return append(out, hop{cfg: server, name: c.Addr()})
}
