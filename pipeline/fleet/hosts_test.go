package fleet

import (
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/sshconn"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want Address
		err  string
	}{
		{"web1", Address{Host: "web1"}, ""},
		{"10.0.0.5:2222", Address{Host: "10.0.0.5", Port: 2222}, ""},
		{"deploy@web1.example.com", Address{User: "deploy", Host: "web1.example.com"}, ""},
		{"deploy@10.0.0.5:22", Address{User: "deploy", Host: "10.0.0.5", Port: 22}, ""},
		{"[::1]", Address{Host: "::1"}, ""},
		{"ops@[2001:db8::1]:2222", Address{User: "ops", Host: "2001:db8::1", Port: 2222}, ""},
		{"2001:db8::1", Address{}, "in brackets"},
		{"web1:0", Address{}, "port must be 1-65535"},
		{"web1:ssh", Address{}, "port must be 1-65535"},
		{"Root!@web1", Address{}, "not a valid login name"},
		{"a@b@c", Address{}, "want [user@]host[:port]"},
		{"web_1", Address{}, "not a hostname"},
		{"web1 web2", Address{}, "want [user@]host[:port]"},
		{"ssh://web1", Address{}, "want [user@]host[:port]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAddress(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseAddress(%q) err = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseAddress(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseHostsFile(t *testing.T) {
	got, err := ParseHostsFile([]byte(`# production, Hangzhou
web1.example.com
deploy@10.0.0.6:2222   # the odd one

  [::1]:22
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Address{{Host: "web1.example.com"}, {User: "deploy", Host: "10.0.0.6", Port: 2222}, {Host: "::1", Port: 22}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	bad := []struct{ in, err string }{
		{"web1\nweb 2\n", "hosts file line 2:"},
		{"web1\n# x\nweb1 # again\n", "hosts file line 3: web1 is already on line 1"},
		{"# nothing\n\n", "lists no hosts"},
		{"web1:99999\n", "line 1: ssh address \"web1:99999\": port must be 1-65535"},
	}
	for _, b := range bad {
		if _, err := ParseHostsFile([]byte(b.in)); err == nil || !strings.Contains(err.Error(), b.err) {
			t.Errorf("ParseHostsFile(%q) err = %v, want %q", b.in, err, b.err)
		}
	}
}

func TestParseHostList(t *testing.T) {
	got, err := ParseHostList([]string{"web1", "deploy@web2:2222"})
	if err != nil || len(got) != 2 || got[1] != (Address{User: "deploy", Host: "web2", Port: 2222}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := ParseHostList([]string{"web1", "web 2"}); err == nil || !strings.HasPrefix(err.Error(), "host 2: ") {
		t.Fatalf("bad second host: err = %v", err)
	}
	if _, err := ParseHostList(nil); err == nil || !strings.Contains(err.Error(), "no hosts") {
		t.Fatalf("no hosts: err = %v", err)
	}
}

func TestConfigsShareCredentialsAndKeepEachHost(t *testing.T) {
	base := sshconn.Config{User: "deploy", Port: 2200, PrivateKey: []byte("key"), KnownHosts: []byte("web1 ssh-ed25519 AAAA\n")}
	cfgs, err := Configs([]Address{{Host: "web1"}, {User: "ops", Host: "web2", Port: 22}}, base)
	if err != nil {
		t.Fatal(err)
	}
	if cfgs[0].Addr() != "web1:2200" || cfgs[0].User != "deploy" || cfgs[1].Addr() != "web2:22" || cfgs[1].User != "ops" {
		t.Fatalf("configs = %+v", cfgs)
	}
	if string(cfgs[1].PrivateKey) != "key" || string(cfgs[1].KnownHosts) != string(base.KnownHosts) {
		t.Fatal("credentials not shared")
	}
	if _, err := Configs([]Address{{Host: "web1", Port: 2200}, {Host: "web1"}}, base); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Fatalf("duplicate host: err = %v", err)
	}
	noKH := base
	noKH.KnownHosts = nil
	if _, err := Configs([]Address{{Host: "web1"}}, noKH); err == nil || !strings.Contains(err.Error(), "host web1: known_hosts is required") {
		t.Fatalf("no known_hosts: err = %v", err)
	}
}
