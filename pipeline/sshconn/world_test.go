package sshconn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

func config(srv *testworld.SSHServer) sshconn.Config {
	return sshconn.Config{Host: srv.Host, Port: srv.Port, User: srv.User, KnownHosts: srv.KnownHosts}
}

func whoami(t *testing.T, cfg sshconn.Config) string {
	t.Helper()
	c, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	out, err := c.Run(context.Background(), "whoami", "id -un", nil)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func TestKeyTypesPassphraseAndAgent(t *testing.T) {
	srv := testworld.StartSSHD(t)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]any{"rsa": rsaKey, "ecdsa": ecKey} {
		t.Run(name, func(t *testing.T) {
			signer, err := ssh.NewSignerFromKey(key)
			if err != nil {
				t.Fatal(err)
			}
			srv.Authorize(t, signer.PublicKey())
			block, err := ssh.MarshalPrivateKey(key, "")
			if err != nil {
				t.Fatal(err)
			}
			cfg := config(srv)
			cfg.PrivateKey = pem.EncodeToMemory(block)
			if got := whoami(t, cfg); got != srv.User {
				t.Fatalf("logged in as %q", got)
			}
		})
	}

	t.Run("passphrase", func(t *testing.T) {
		block, err := ssh.MarshalPrivateKeyWithPassphrase(ecKey, "", []byte("correct horse"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := config(srv)
		cfg.PrivateKey = pem.EncodeToMemory(block)
		if _, err := sshconn.Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "pass its passphrase") {
			t.Fatalf("encrypted key without passphrase: %v", err)
		}
		cfg.Passphrase = []byte("wrong")
		if _, err := sshconn.Dial(context.Background(), cfg); err == nil {
			t.Fatal("wrong passphrase accepted")
		}
		cfg.Passphrase = []byte("correct horse")
		if got := whoami(t, cfg); got != srv.User {
			t.Fatalf("logged in as %q", got)
		}
	})

	t.Run("agent", func(t *testing.T) {
		keyring := agent.NewKeyring()
		if err := keyring.Add(agent.AddedKey{PrivateKey: ecKey}); err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(t.TempDir(), "agent.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = ln.Close() }()
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { _ = agent.ServeAgent(keyring, conn); _ = conn.Close() }()
			}
		}()
		cfg := config(srv)
		cfg.AgentSocket = sock
		if got := whoami(t, cfg); got != srv.User {
			t.Fatalf("logged in as %q", got)
		}
	})
}

func TestUnreachableHost(t *testing.T) {
	srv := testworld.StartSSHD(t)
	cfg := config(srv)
	cfg.PrivateKey = srv.ClientKeyPEM
	cfg.Port = testworld.FreePort(t) // nothing listens there
	cfg.KnownHosts = []byte(knownhosts.Line([]string{knownhosts.Normalize(cfg.Addr())}, srv.HostKey))
	_, err := sshconn.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("err = %v", err)
	}
}
