package sshconn_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// jumpWorld is three sshds in a line of network namespaces: bastion1 is
// reachable from here, bastion2 only from bastion1, inner only from
// bastion2.
type jumpWorld struct {
	chain                     []testworld.Netns
	bastion1, bastion2, inner *testworld.SSHServer
}

func newJumpWorld(t *testing.T) *jumpWorld {
	t.Helper()
	chain := testworld.NetnsChain(t, 3)
	return &jumpWorld{
		chain:    chain,
		bastion1: testworld.StartSSHDInNetns(t, chain[0]),
		bastion2: testworld.StartSSHDInNetns(t, chain[1]),
		inner:    testworld.StartSSHDInNetns(t, chain[2]),
	}
}

// hop is srv as a jump host with its own key and known_hosts.
func hop(srv *testworld.SSHServer) sshconn.Hop {
	return sshconn.Hop{Host: srv.Host, Port: srv.Port, User: srv.User, PrivateKey: srv.ClientKeyPEM, KnownHosts: srv.KnownHosts}
}

func connections(t *testing.T, srv *testworld.SSHServer) int {
	t.Helper()
	return strings.Count(srv.Log(t), "Connection from ")
}

// established counts the TCP connections to sshd in ns.
func established(t *testing.T, ns testworld.Netns) int {
	t.Helper()
	out, err := testworld.Run(context.Background(), nil, nil, "ip", "netns", "exec", ns.Name, "ss", "-Htn", "state", "established", "sport", "= :22")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

func TestJumpHosts(t *testing.T) {
	w := newJumpWorld(t)
	direct := func(srv *testworld.SSHServer) sshconn.Config {
		cfg := config(srv)
		cfg.PrivateKey = srv.ClientKeyPEM
		return cfg
	}

	// Before anything reaches bastion2 or inner: a bastion whose key is
	// not the pinned one, or not pinned at all, stops the dial there.
	t.Run("wrong bastion key is refused before the next hop", func(t *testing.T) {
		cfg := direct(w.bastion2)
		bad := hop(w.bastion1)
		otherKey, err := ssh.ParsePrivateKey(testworld.NewClientKey(t))
		if err != nil {
			t.Fatal(err)
		}
		other := otherKey.PublicKey()
		bad.KnownHosts = []byte(strings.Fields(string(w.bastion1.KnownHosts))[0] + " " + string(ssh.MarshalAuthorizedKey(other)))
		cfg.Jump = []sshconn.Hop{bad}
		_, err = sshconn.Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "HOST KEY MISMATCH") || !strings.Contains(err.Error(), "bastion "+w.bastion1.Addr()) {
			t.Fatalf("err = %v, want a host key mismatch naming the bastion", err)
		}
		if hostKey := new(sshconn.HostKeyError); !errors.As(err, &hostKey) {
			t.Fatalf("err = %#v, want a *sshconn.HostKeyError in its chain", err)
		}
		if n := connections(t, w.bastion2); n != 0 {
			t.Fatalf("the next hop saw %d connections, want none:\n%s", n, w.bastion2.Log(t))
		}
		if n := connections(t, w.bastion1); n != 1 {
			t.Fatalf("the bastion saw %d connections, want the refused one", n)
		}
	})
	t.Run("bastion missing from known_hosts", func(t *testing.T) {
		cfg := direct(w.bastion2)
		h := hop(w.bastion1)
		h.KnownHosts = nil // the server's, which has no line for the bastion
		cfg.Jump = []sshconn.Hop{h}
		want := fmt.Sprintf("known_hosts has no entry for bastion %s (jump 1 of 1): add it with `ssh-keyscan -p 22 %s`", w.bastion1.Addr(), w.bastion1.Host)
		if err := sshconn.Check(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Check = %v, want %q", err, want)
		}
		before := connections(t, w.bastion1)
		if _, err := sshconn.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Dial = %v, want %q", err, want)
		}
		if n := connections(t, w.bastion1) - before; n != 0 {
			t.Fatalf("Dial contacted the bastion %d times before failing", n)
		}
	})
	if n := connections(t, w.inner) + connections(t, w.bastion2); n != 0 {
		t.Fatalf("the inner hosts saw %d connections", n)
	}

	t.Run("only bastion1 is reachable directly", func(t *testing.T) {
		for _, srv := range []*testworld.SSHServer{w.bastion2, w.inner} {
			_, err := sshconn.Dial(context.Background(), direct(srv))
			if err == nil || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("direct dial to %s: %v", srv.Addr(), err)
			}
		}
		c, err := sshconn.Dial(context.Background(), direct(w.bastion1))
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	})

	t.Run("two jumps", func(t *testing.T) {
		cfg := direct(w.inner)
		cfg.Jump = []sshconn.Hop{hop(w.bastion1), hop(w.bastion2)}
		if err := sshconn.Check(cfg); err != nil {
			t.Fatalf("Check = %v", err)
		}
		c, err := sshconn.Dial(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Run(context.Background(), "where", "echo $SSH_CONNECTION", nil)
		if err != nil {
			t.Fatal(err)
		}
		// client-ip client-port server-ip server-port, as the inner sshd
		// sees them: the server side is inner's address.
		if f := strings.Fields(out); len(f) != 4 || f[2] != w.inner.Host {
			t.Fatalf("SSH_CONNECTION = %q, want the inner server %s", out, w.inner.Host)
		}

		// The health gate's tunnel: from the inner host to an address only
		// it (and bastion2) reaches.
		conn, err := c.DialTCP(context.Background(), w.inner.Addr())
		if err != nil {
			t.Fatal(err)
		}
		banner, err := bufio.NewReader(conn).ReadString('\n')
		_ = conn.Close()
		if err != nil || !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
			t.Fatalf("tunnel read %q, %v", banner, err)
		}

		// A deadline ends the command on the inner host through both hops.
		secs := uniqueSleep(t)
		_, err = c.RunDeadline(context.Background(), "migrate", time.Second, "sleep "+secs, nil)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, new(*sshconn.DeadlineError)) {
			t.Fatalf("RunDeadline = %v", err)
		}
		waitGone(t, secs, 3*time.Second)

		for i, ns := range w.chain {
			if n := established(t, ns); n != 1 {
				t.Fatalf("hop %d has %d connections open, want 1", i, n)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		// Closing the client closes every hop.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			open := []int{established(t, w.chain[0]), established(t, w.chain[1]), established(t, w.chain[2])}
			if slices.Equal(open, []int{0, 0, 0}) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after Close, connections still open per hop: %v", open)
			}
		}
	})

	t.Run("hops share the server's key and known_hosts", func(t *testing.T) {
		signer, err := ssh.ParsePrivateKey(w.inner.ClientKeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		w.bastion1.Authorize(t, signer.PublicKey())
		w.bastion2.Authorize(t, signer.PublicKey())
		cfg := direct(w.inner)
		cfg.KnownHosts = slices.Concat(w.bastion1.KnownHosts, w.bastion2.KnownHosts, w.inner.KnownHosts)
		hops, err := sshconn.ParseJumps([]string{w.bastion1.Addr(), w.bastion2.User + "@" + w.bastion2.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Jump = hops
		if got := whoami(t, cfg); got != w.inner.User {
			t.Fatalf("logged in as %q", got)
		}
	})

	t.Run("bastion refuses the key", func(t *testing.T) {
		cfg := direct(w.inner)
		h := hop(w.bastion1)
		h.PrivateKey = testworld.NewClientKey(t)
		cfg.Jump = []sshconn.Hop{h, hop(w.bastion2)}
		before := connections(t, w.bastion2)
		_, err := sshconn.Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "bastion "+w.bastion1.Addr()+" (jump 1 of 2): the server refused the key") {
			t.Fatalf("err = %v", err)
		}
		if n := connections(t, w.bastion2) - before; n != 0 {
			t.Fatalf("bastion2 was contacted %d times", n)
		}
	})

	t.Run("next hop unreachable from the bastion", func(t *testing.T) {
		cfg := direct(w.inner) // inner is two links from bastion1
		cfg.Jump = []sshconn.Hop{hop(w.bastion1)}
		cfg.DialTimeout = 3 * time.Second
		_, err := sshconn.Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "unreachable from bastion "+w.bastion1.Addr()) {
			t.Fatalf("err = %v", err)
		}
	})
}

// A hop that stops answering (its sshd frozen mid-connection) takes the
// chain down within KeepAliveWait: the command running behind it fails
// instead of waiting forever.
func TestStalledBastionEndsTheChain(t *testing.T) {
	w := newJumpWorld(t)
	cfg := config(w.inner)
	cfg.PrivateKey = w.inner.ClientKeyPEM
	cfg.Jump = []sshconn.Hop{hop(w.bastion1), hop(w.bastion2)}
	cfg.KeepAlive, cfg.KeepAliveWait = 200*time.Millisecond, time.Second
	c, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	secs := uniqueSleep(t)
	t.Cleanup(func() {
		for _, p := range remoteProcs(t, secs) {
			pid, _, _ := strings.Cut(p, ":")
			_, _ = testworld.Run(context.Background(), nil, nil, "kill", "-KILL", pid)
		}
	})
	ran := make(chan error, 1)
	go func() {
		_, err := c.Run(context.Background(), "compose up", "sleep "+secs, nil)
		ran <- err
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-ran:
		t.Fatalf("the command ended before the stall: %v", err)
	default:
	}

	// Freeze the bastion's processes serving this connection.
	out, err := testworld.Run(context.Background(), nil, nil, "ip", "netns", "exec", w.chain[0].Name, "ss", "-Htnp", "state", "established", "sport", "= :22")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, f := range strings.Split(out, "pid=")[1:] {
		pid, _, _ := strings.Cut(f, ",")
		pids = append(pids, pid)
	}
	if len(pids) == 0 {
		t.Fatalf("no sshd process serves the bastion connection: %q", out)
	}
	if _, err := testworld.Run(context.Background(), nil, nil, append([]string{"kill", "-STOP"}, pids...)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = testworld.Run(context.Background(), nil, nil, append([]string{"kill", "-CONT"}, pids...)...)
	})
	stalled := time.Now()
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "connection lost") {
			t.Fatalf("Run = %v, want the connection lost", err)
		}
		t.Logf("Run failed %s after the bastion froze: %v", time.Since(stalled).Round(time.Millisecond), err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run still waits 5s after the bastion froze (KeepAliveWait 1s)")
	}
}

// A fleet behind one bastion: the bastion is dialled once, and every host
// through that one connection; closing a host leaves the bastion open.
func TestDialViaSharesOneBastion(t *testing.T) {
	w := newJumpWorld(t)
	bcfg := config(w.bastion1)
	bcfg.PrivateKey = w.bastion1.ClientKeyPEM
	bastion, err := sshconn.Dial(context.Background(), bcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bastion.Close() }()

	second := config(w.bastion2)
	second.PrivateKey = w.bastion2.ClientKeyPEM
	inner := config(w.inner)
	inner.PrivateKey = w.inner.ClientKeyPEM
	inner.Jump = []sshconn.Hop{hop(w.bastion2)}
	var hosts []*sshconn.Client
	for _, cfg := range []sshconn.Config{second, inner} {
		c, err := sshconn.DialVia(context.Background(), bastion, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Run(context.Background(), "where", "echo $SSH_CONNECTION", nil)
		if f := strings.Fields(out); err != nil || len(f) != 4 || f[2] != cfg.Host {
			t.Fatalf("on %s: %q, %v", cfg.Host, out, err)
		}
		hosts = append(hosts, c)
	}
	if n := established(t, w.chain[0]); n != 1 {
		t.Fatalf("the bastion has %d connections, want the one shared", n)
	}
	for _, c := range hosts {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bastion.Run(context.Background(), "still open", "true", nil); err != nil {
		t.Fatalf("closing the hosts closed the bastion: %v", err)
	}
	// A host the bastion cannot reach says which connection it tried from.
	far := config(w.inner)
	far.PrivateKey = w.inner.ClientKeyPEM
	if _, err := sshconn.DialVia(context.Background(), bastion, far); err == nil || !strings.Contains(err.Error(), "unreachable from "+bastion.Target()) {
		t.Fatalf("DialVia to a host two links away: %v", err)
	}
}
