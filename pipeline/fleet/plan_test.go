package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Bad plans are refused before any host is dialled: the hosts here do not
// exist, so any network traffic would fail differently.
func TestBadPlansAreRefusedBeforeAnyConnection(t *testing.T) {
	spec := compose.Spec{App: "api", Image: "registry.example.com/api:v2", Transfer: host.Registry{Host: "registry.example.com"}}
	tests := []struct {
		name string
		plan Plan
		want string
	}{
		{"no hosts", Plan{Spec: spec}, "fleet: no hosts"},
		{"negative parallel", Plan{Hosts: []sshconn.Config{testHost("web1")}, Spec: spec, Rollout: Rollout{Parallel: -1}}, "parallel -1: must be at least 1"},
		{"negative canary pause", Plan{Hosts: []sshconn.Config{testHost("web1")}, Spec: spec, Rollout: Rollout{Canary: &Canary{Pause: -time.Second}}}, "canary pause -1s"},
		{"host twice", Plan{Hosts: []sshconn.Config{testHost("web1"), testHost("web1")}, Spec: spec}, "host web1:22 is listed twice"},
		{"host without known_hosts", Plan{Hosts: []sshconn.Config{testHost("web1"), {Host: "web2", Port: 22, User: "deploy", PrivateKey: []byte("k")}}, Spec: spec}, "host web2:22: known_hosts is required"},
		{"bad spec on one host", Plan{Hosts: []sshconn.Config{testHost("web1"), testHost("web2")}, Spec: spec, ForHost: func(h sshconn.Config, s compose.Spec) compose.Spec {
			if h.Host == "web2" {
				s.Publish = "eighty"
			}
			return s
		}}, "host web2:22: publish \"eighty\""},
		{"ssh transfer without its tarball", Plan{Hosts: []sshconn.Config{testHost("web1")}, Spec: compose.Spec{App: "api", Image: "docker.io/library/api:v2", Transfer: host.SSH{}}}, "host web1:22: ssh transfer: no image tarball"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rep, err := Run(ctx, tt.plan)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if rep != nil {
				t.Fatalf("a refused plan has a report: %+v", rep)
			}
		})
	}
}

// A migration runs once per run: only the first host's spec keeps it.
func TestMigrationGoesToTheFirstHostOnly(t *testing.T) {
	plan := Plan{
		Hosts:   []sshconn.Config{testHost("web1"), testHost("web2"), testHost("web3")},
		Spec:    compose.Spec{App: "api", Image: "registry.example.com/api:v2", Transfer: host.Registry{Host: "registry.example.com"}, Migrate: "migrate up"},
		Rollout: Rollout{Parallel: 3},
	}
	members, err := plan.members()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range members {
		if want := map[bool]string{true: "migrate up", false: ""}[i == 0]; m.spec.Migrate != want {
			t.Errorf("host %d: migrate %q, want %q", i+1, m.spec.Migrate, want)
		}
	}
}
