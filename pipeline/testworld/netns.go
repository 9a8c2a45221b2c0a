package testworld

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Netns is a network namespace in a NetnsChain.
type Netns struct {
	Name string
	// Addr is this namespace's address on the link to the namespace
	// before it (the root namespace for the first): only that one
	// reaches it.
	Addr string
}

// NetnsChain creates n network namespaces in a line, root - ns[0] -
// ns[1] - ..., each link a veth pair in its own /30 of one 10.203.x.0/24.
// No namespace forwards, so each reaches only its neighbours: a server
// in ns[1] is reachable from ns[0] and from nowhere else. The root
// namespace gets an unreachable route for the whole /24, so a direct dial
// to a far namespace fails at once instead of leaving by the default
// route. Everything is removed when the test ends.
func NetnsChain(t testing.TB, n int) []Netns {
	t.Helper()
	need(t, "ip", "iproute2")
	if n < 1 || n > 60 {
		t.Fatalf("testworld: NetnsChain(%d): want 1-60 namespaces", n)
	}
	token := randomToken(t, 3)
	subnet := claimSubnet(t)
	chain := make([]Netns, n)
	for i := range chain {
		name := fmt.Sprintf("gs-%s-%d", token, i)
		run(t, nil, "ip", "netns", "add", name)
		t.Cleanup(func() { _, _ = Run(context.Background(), nil, nil, "ip", "netns", "del", name) })
		run(t, nil, "ip", "-n", name, "link", "set", "lo", "up")
		// veth names are at most 15 bytes: gs + token + index + side.
		near, far := fmt.Sprintf("gs%s%da", token, i), fmt.Sprintf("gs%s%db", token, i)
		nearAddr := fmt.Sprintf("%s.%d", subnet, 4*i+1)
		chain[i] = Netns{Name: name, Addr: fmt.Sprintf("%s.%d", subnet, 4*i+2)}
		prev := []string{"ip"} // the root namespace
		if i > 0 {
			prev = []string{"ip", "-n", chain[i-1].Name}
		}
		run(t, nil, "ip", "link", "add", near, "type", "veth", "peer", "name", far, "netns", name)
		if i > 0 {
			run(t, nil, "ip", "link", "set", near, "netns", chain[i-1].Name)
		}
		run(t, nil, append(prev, "addr", "add", nearAddr+"/30", "dev", near)...)
		run(t, nil, append(prev, "link", "set", near, "up")...)
		run(t, nil, "ip", "-n", name, "addr", "add", chain[i].Addr+"/30", "dev", far)
		run(t, nil, "ip", "-n", name, "link", "set", far, "up")
	}
	return chain
}

// claimSubnet reserves a 10.203.x.0/24 no route of this machine uses
// yet by adding the root namespace's unreachable route for it: adding
// fails if another test claimed it first, so parallel chains never share
// a prefix.
func claimSubnet(t testing.TB) string {
	t.Helper()
	routes := run(t, nil, "ip", "route", "show", "table", "all")
	b := make([]byte, 1)
	for range 64 {
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		subnet := fmt.Sprintf("10.203.%d", b[0])
		if strings.Contains(routes, subnet+".") {
			continue
		}
		if _, err := Run(t.Context(), nil, nil, "ip", "route", "add", "unreachable", subnet+".0/24"); err != nil {
			continue
		}
		t.Cleanup(func() {
			_, _ = Run(context.Background(), nil, nil, "ip", "route", "del", "unreachable", subnet+".0/24")
		})
		return subnet
	}
	t.Fatal("testworld: no free 10.203.x.0/24 for a namespace chain")
	return ""
}

// StartSSHDInNetns runs an sshd like StartSSHD's, listening on addr
// inside the network namespace ns: reachable only from where ns.Addr
// is. Its KnownHosts pins the key for addr.
func StartSSHDInNetns(t testing.TB, ns Netns, opts ...SSHDOption) *SSHServer {
	t.Helper()
	s, bin, cfgPath := prepareSSHD(t, ns.Addr, 22, opts)
	// ip netns exec enters the namespace and execs sshd: same pid, so
	// the daemon's cleanup kills sshd itself.
	startDaemon(t, "sshd in "+ns.Name, filepath.Join(s.dir, "sshd.log"),
		exec.Command("ip", "netns", "exec", ns.Name, bin, "-D", "-e", "-f", cfgPath))
	waitTCPInNetns(t, ns.Name, s.Addr(), 10*time.Second)
	return s
}

// waitTCPInNetns waits until addr accepts connections from inside ns
// (sshd logs each probe as a connection without identification).
func waitTCPInNetns(t testing.TB, ns, addr string, within time.Duration) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	for {
		// ss lists listening sockets of the namespace without connecting.
		out, err := Run(t.Context(), nil, nil, "ip", "netns", "exec", ns, "ss", "-Hltn", "src", host, "sport", "= :"+port)
		if err == nil && strings.TrimSpace(out) != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testworld: sshd on %s in %s not listening after %s: %v", addr, ns, within, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Log is the server's sshd log so far (LogLevel VERBOSE: one
// "Connection from" line per TCP connection).
func (s *SSHServer) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "sshd.log"))
	if err != nil {
		t.Fatalf("testworld: sshd log: %v", err)
	}
	return string(b)
}
