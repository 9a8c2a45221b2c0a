package sshconn

import (
	"strings"
	"testing"
)

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		in   string
		host string
		port int
		err  bool
	}{
		{"10.0.0.5", "10.0.0.5", 22, false},
		{"ecs.example.com:2222", "ecs.example.com", 2222, false},
		{"[::1]:22", "::1", 22, false},
		{"[::1]", "::1", 22, false},
		{"fd00::5", "fd00::5", 22, false},
		{"[::1]:", "", 0, true},
		{"host:", "", 0, true},
		{"x:y:z", "", 0, true},
		{"host:0", "", 0, true},
		{"host:abc", "", 0, true},
		{"bad host", "", 0, true},
		{"", "", 0, true},
	}
	for _, tt := range tests {
		h, p, err := ParseHostPort(tt.in)
		if (err != nil) != tt.err || h != tt.host || p != tt.port {
			t.Errorf("ParseHostPort(%q) = %q, %d, %v", tt.in, h, p, err)
		}
	}
}

func TestValidateRejectsBeforeNetwork(t *testing.T) {
	cfg := Config{Host: "127.0.0.1", Port: 22, User: "deploy", PrivateKey: []byte("x")}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "known_hosts is required") {
		t.Fatalf("no known_hosts: %v", err)
	}
	cfg.KnownHosts = []byte("x")
	cfg.User = "Bad User"
	if err := cfg.Validate(); err == nil {
		t.Fatal("bad user accepted")
	}
}

func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"a:22", "[::1]:2", "1.2.3.4", "x:y:z", "-oProxyCommand=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, p, err := ParseHostPort(s)
		if err != nil {
			return
		}
		if p < 1 || p > 65535 || h == "" || strings.HasPrefix(h, "-") || strings.ContainsAny(h, " /@") {
			t.Fatalf("ParseHostPort(%q) = %q, %d", s, h, p)
		}
	})
}

func TestWildcardMatchAsOpenSSH(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "[10.0.0.5]:2222", true},
		{"*", "host.example.com", true},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "[a.example.com]:2222", false},
		{"[*.example.com]:2222", "[a.example.com]:2222", true},
		{"10.0.0.?", "10.0.0.5", true},
		{"10.0.0.?", "10.0.0.55", false},
		{"Host.Example.com", "host.example.com", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tt.pattern, tt.name, got)
		}
	}
}
