package sshconn_test

import (
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// Check catches a bad key, a missing passphrase and an unpinned host
// without connecting: the port below has nothing listening.
func TestCheckWithoutConnecting(t *testing.T) {
	key := testworld.NewClientKey(t)
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	known := []byte("[203.0.113.10]:2222 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + "\n")
	ok := sshconn.Config{Host: "203.0.113.10", Port: 2222, User: "deploy", PrivateKey: key, KnownHosts: known}
	if err := sshconn.Check(ok); err != nil {
		t.Fatalf("Check = %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*sshconn.Config)
		want   string
	}{
		"garbage key":    {func(c *sshconn.Config) { c.PrivateKey = []byte("not a key") }, "ssh private key"},
		"other host":     {func(c *sshconn.Config) { c.Host = "203.0.113.11" }, "known_hosts has no entry"},
		"no known_hosts": {func(c *sshconn.Config) { c.KnownHosts = nil }, "known_hosts is required"},
		"bad user":       {func(c *sshconn.Config) { c.User = "bad user" }, "not a valid login name"},
		"bad port":       {func(c *sshconn.Config) { c.Port = 0 }, "ssh port"},
		"encrypted, no passphrase": {func(c *sshconn.Config) {
			raw, err := ssh.ParseRawPrivateKey(key)
			if err != nil {
				t.Fatal(err)
			}
			block, err := ssh.MarshalPrivateKeyWithPassphrase(raw, "", []byte("pw"))
			if err != nil {
				t.Fatal(err)
			}
			c.PrivateKey = pem.EncodeToMemory(block)
		}, "encrypted"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			if err := sshconn.Check(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}
