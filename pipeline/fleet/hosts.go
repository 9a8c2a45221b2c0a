package fleet

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strings"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Address is one host as a user writes it: [user@]host[:port]. User and
// Port are empty and 0 when not written.
type Address struct {
	User string
	Host string
	Port int
}

func (a Address) String() string {
	s := a.Host
	if strings.Contains(s, ":") && !strings.HasPrefix(s, "[") {
		s = "[" + s + "]"
	}
	if a.Port != 0 {
		s = net.JoinHostPort(strings.Trim(a.Host, "[]"), fmt.Sprint(a.Port))
	}
	if a.User != "" {
		s = a.User + "@" + s
	}
	return s
}

// ParseAddress reads [user@]host[:port]; an IPv6 host needs brackets
// ([::1] or [::1]:2222).
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, fmt.Errorf("empty host")
	}
	var a Address
	if user, rest, ok := strings.Cut(s, "@"); ok {
		if err := sshconn.ValidateUser(user); err != nil {
			return Address{}, fmt.Errorf("%q: %w", s, err)
		}
		a.User, s = user, rest
	}
	if strings.ContainsAny(s, "@ \t/") {
		return Address{}, fmt.Errorf("%q: want [user@]host[:port]", s)
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		// No port written: host alone. ParseHostPort would default it to 22;
		// 0 here lets the fleet's default port apply.
		if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
			return Address{}, fmt.Errorf("%q: write an IPv6 address in brackets, as in [%s] or [%s]:22", s, s, s)
		}
		if err := sshconn.ValidateHost(s); err != nil {
			return Address{}, err
		}
		a.Host = strings.Trim(s, "[]")
		return a, nil
	}
	host, port, err := sshconn.ParseHostPort(s)
	if err != nil {
		return Address{}, err
	}
	a.Host, a.Port = strings.Trim(host, "[]"), port
	return a, nil
}

// ParseHostList reads repeated --host values, one [user@]host[:port]
// each.
func ParseHostList(values []string) ([]Address, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("no hosts: give --host (repeatable) or a hosts file")
	}
	out := make([]Address, 0, len(values))
	for i, v := range values {
		a, err := ParseAddress(v)
		if err != nil {
			return nil, fmt.Errorf("host %d: %w", i+1, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseHostsFile reads one [user@]host[:port] per line. Blank lines and
// everything after a # are ignored. Every error names its line; a host
// listed twice is an error, since it would be deployed to twice.
func ParseHostsFile(data []byte) ([]Address, error) {
	var out []Address
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		a, err := ParseAddress(line)
		if err != nil {
			return nil, fmt.Errorf("hosts file line %d: %w", n, err)
		}
		key := a.String()
		if first, dup := seen[key]; dup {
			return nil, fmt.Errorf("hosts file line %d: %s is already on line %d", n, key, first)
		}
		seen[key] = n
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hosts file: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("hosts file lists no hosts")
	}
	return out, nil
}

// DefaultUser is the deploy user of hosts that name none.
const DefaultUser = "deploy"

// Configs gives every address the credentials of base (key, passphrase,
// agent, known_hosts, timeouts) with its own host and port, and its own
// user when it names one. An address without a port gets base.Port, or
// 22. Every config is validated; the same host:port twice is refused.
func Configs(addrs []Address, base sshconn.Config) ([]sshconn.Config, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no hosts")
	}
	seen := map[string]bool{}
	out := make([]sshconn.Config, 0, len(addrs))
	for _, a := range addrs {
		cfg := base
		cfg.Host, cfg.Port = a.Host, a.Port
		if cfg.Port == 0 {
			cfg.Port = base.Port
		}
		if cfg.Port == 0 {
			cfg.Port = 22
		}
		if a.User != "" {
			cfg.User = a.User
		}
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("host %s: %w", a, err)
		}
		if seen[cfg.Addr()] {
			return nil, fmt.Errorf("host %s is listed twice", cfg.Addr())
		}
		seen[cfg.Addr()] = true
		out = append(out, cfg)
	}
	return out, nil
}
