package sshconn_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

func TestParseJump(t *testing.T) {
	ok := []struct {
		in   string
		want sshconn.Hop
	}{
		{"deploy@10.0.0.5:22", sshconn.Hop{Host: "10.0.0.5", Port: 22, User: "deploy"}},
		{"bastion.example.com", sshconn.Hop{Host: "bastion.example.com", Port: 22}},
		{"ops@bastion.example.com:2222", sshconn.Hop{Host: "bastion.example.com", Port: 2222, User: "ops"}},
		{"ops@[fd00::5]:2222", sshconn.Hop{Host: "fd00::5", Port: 2222, User: "ops"}},
	}
	for _, tt := range ok {
		got, err := sshconn.ParseJump(tt.in)
		if err != nil || got.Host != tt.want.Host || got.Port != tt.want.Port || got.User != tt.want.User {
			t.Errorf("ParseJump(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for in, want := range map[string]string{
		"":                  "no host",
		"deploy@":           "no host",
		"@bastion":          `ssh user ""`,
		"Bad User@bastion":  "not a valid login name",
		"deploy@bastion:0":  "port must be 1-65535",
		"deploy@bastion:ab": "port must be 1-65535",
		"deploy@-oProxy=x":  "not a hostname",
		"deploy@a b":        "not a hostname",
	} {
		_, err := sshconn.ParseJump(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `jump host "`+in+`"`) {
			t.Errorf("ParseJump(%q) = %v, want an error naming the value and saying %q", in, err, want)
		}
	}
	hops, err := sshconn.ParseJumps([]string{"a@first:22", "second:2200"})
	if err != nil || len(hops) != 2 || hops[0].Host != "first" || hops[1].Host != "second" || hops[1].Port != 2200 {
		t.Fatalf("ParseJumps = %+v, %v", hops, err)
	}
	if _, err := sshconn.ParseJumps([]string{"ok", "bad:0"}); err == nil || !strings.Contains(err.Error(), `--jump #2: jump host "bad:0"`) {
		t.Fatalf("ParseJumps with a bad second value: %v", err)
	}
}

// Check validates every hop before any connection (nothing listens at
// these documentation addresses).
func TestCheckJumpHosts(t *testing.T) {
	key := testworld.NewClientKey(t)
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	known := []byte("[203.0.113.10]:2222 " + pub + "\n198.51.100.7 " + pub + "\n")
	ok := sshconn.Config{Host: "203.0.113.10", Port: 2222, User: "deploy", PrivateKey: key, KnownHosts: known,
		Jump: []sshconn.Hop{{Host: "198.51.100.7", Port: 22}}}
	if err := sshconn.Check(ok); err != nil {
		t.Fatalf("Check = %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func(*sshconn.Hop)
		want   string
	}{
		"bastion not in known_hosts": {func(h *sshconn.Hop) { h.Host = "198.51.100.8" },
			"known_hosts has no entry for bastion 198.51.100.8:22 (jump 1 of 1): add it with `ssh-keyscan -p 22 198.51.100.8`"},
		"bastion's own known_hosts lacks it": {func(h *sshconn.Hop) { h.KnownHosts = []byte("[203.0.113.10]:2222 " + pub + "\n") },
			"known_hosts has no entry for bastion 198.51.100.7:22"},
		"bad bastion port": {func(h *sshconn.Hop) { h.Port = 70000 }, "bastion 198.51.100.7:70000 (jump 1 of 1): ssh port 70000"},
		"bad bastion user": {func(h *sshconn.Hop) { h.User = "Root User" }, "(jump 1 of 1): ssh user \"Root User\""},
		"bad bastion key":  {func(h *sshconn.Hop) { h.PrivateKey = []byte("garbage") }, "bastion 198.51.100.7:22 (jump 1 of 1): ssh private key"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			cfg.Jump = []sshconn.Hop{ok.Jump[0]}
			tc.mutate(&cfg.Jump[0])
			if err := sshconn.Check(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}
