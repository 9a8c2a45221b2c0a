package fleet

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// NewPlan checks the whole deploy, for every strategy, before any host
// is dialed (the hosts here do not exist), and names the flag to fix.
func TestNewPlanChecksEverythingUpFront(t *testing.T) {
	hosts := []sshconn.Config{testHost("203.0.113.9")}
	good := compose.Spec{App: "api", Image: "r.example/api@sha256:" + strings.Repeat("a", 64), Transfer: host.Registry{}}
	dir := t.TempDir()
	missing := filepath.Join(dir, "image.tar")
	for _, tt := range []struct {
		name    string
		edit    func(*compose.Spec, *Rollout)
		wantErr string
	}{
		{"ok", func(*compose.Spec, *Rollout) {}, ""},
		{"port out of range", func(s *compose.Spec, _ *Rollout) { s.Publish = "70000:8080" }, "out of range"},
		{"blue-green port out of range", func(s *compose.Spec, _ *Rollout) { s.Strategy, s.Publish = compose.StrategyBlueGreen, "8080:70000" }, "out of range"},
		{"bad strategy", func(s *compose.Spec, _ *Rollout) { s.Strategy = "canary" }, "unknown deploy strategy"},
		{"no transfer", func(s *compose.Spec, _ *Rollout) { s.Transfer = nil }, "no transfer strategy: want one of registry, ssh"},
		{"proxy flags on recreate", func(s *compose.Spec, _ *Rollout) {
			s.Strategy, s.Proxy.Host = compose.StrategyRecreate, "api.example.com"
		}, "need with-blue-green"},
		{"registry without image", func(s *compose.Spec, _ *Rollout) { s.Image = "" }, "--image is required"},
		{"bad app", func(s *compose.Spec, _ *Rollout) { s.App = "API" }, "app name"},
		{"publish host port 0", func(s *compose.Spec, _ *Rollout) { s.Publish = "0:8080" }, "out of range"},
		{"publish without container port", func(s *compose.Spec, _ *Rollout) { s.Publish = "8080" }, "want [ip:]hostPort:containerPort"},
		{"publish IP out of range", func(s *compose.Spec, _ *Rollout) { s.Publish = "300.1.1.1:80:8080" }, "not an IPv4 address"},
		{"publish IPv6", func(s *compose.Spec, _ *Rollout) { s.Publish = "[::1]:80:8080" }, "want [ip:]hostPort:containerPort"},
		{"health path relative", func(s *compose.Spec, _ *Rollout) { s.Health.Path = "healthz" }, "must start with /"},
		{"health path with a space", func(s *compose.Spec, _ *Rollout) { s.Health.Path = "/health z" }, "no spaces"},
		{"health path with a fragment", func(s *compose.Spec, _ *Rollout) { s.Health.Path = "/healthz#top" }, "'#'"},
		{"health port out of range", func(s *compose.Spec, _ *Rollout) { s.Health.Port = 70000 }, "health port 70000"},
		{"health port negative", func(s *compose.Spec, _ *Rollout) { s.Health.Port = -1 }, "health port -1"},
		{"health timeout negative", func(s *compose.Spec, _ *Rollout) { s.Health.Timeout = -5 * time.Second }, "must not be negative"},
		{"health interval negative", func(s *compose.Spec, _ *Rollout) { s.Health.Interval = -time.Second }, "health interval -1s"},
		{"keep 1", func(s *compose.Spec, _ *Rollout) { s.Keep = 1 }, "at least 2"},
		{"keep negative", func(s *compose.Spec, _ *Rollout) { s.Keep = -3 }, "at least 2"},
		{"parallel negative", func(_ *compose.Spec, r *Rollout) { r.Parallel = -1 }, "parallel -1"},
		{"canary negative", func(_ *compose.Spec, r *Rollout) { r.Canary = &Canary{Pause: -2 * time.Minute} }, "canary pause -2m0s"},
		{"drain negative", func(s *compose.Spec, _ *Rollout) { s.Strategy, s.Proxy.Drain = compose.StrategyBlueGreen, -time.Second }, "drain -1s"},
		{"proxy host not a DNS name", func(s *compose.Spec, _ *Rollout) { s.Strategy, s.Proxy.Host = compose.StrategyBlueGreen, "API_host" }, "proxy host"},
		{"proxy dir relative", func(s *compose.Spec, _ *Rollout) { s.Strategy, s.Proxy.Root = compose.StrategyBlueGreen, "opt/proxy" }, "proxy dir"},
		{"proxy image bad", func(s *compose.Spec, _ *Rollout) {
			s.Strategy, s.Proxy.Image = compose.StrategyBlueGreen, "Caddy:Latest"
		}, "proxy image"},
		{"proxy named like the app", func(s *compose.Spec, _ *Rollout) { s.Strategy, s.App = compose.StrategyBlueGreen, "goship-proxy" }, "has the proxy's name"},
		{"image not a reference", func(s *compose.Spec, _ *Rollout) { s.Image = "not a reference" }, "image"},
		{"username without password", func(s *compose.Spec, _ *Rollout) { s.Transfer = host.Registry{Username: "ci"} }, "go together"},
		{"password without username", func(s *compose.Spec, _ *Rollout) { s.Transfer = host.Registry{Password: "s3cret"} }, "go together"},
		{"ssh tarball missing", func(s *compose.Spec, _ *Rollout) { s.Transfer = host.SSH{Tarball: missing} }, "image tarball for --transfer=ssh: stat "},
		{"ssh tarball a directory", func(s *compose.Spec, _ *Rollout) { s.Transfer = host.SSH{Tarball: dir} }, "not a regular file"},
		{"compose without the service", func(s *compose.Spec, _ *Rollout) { s.Compose = []byte("services:\n  web:\n    image: x\n") }, `no service "app"`},
		{"compose mounting outside shared", func(s *compose.Spec, _ *Rollout) {
			s.Compose = []byte("services:\n  app:\n    image: x\n    volumes: [\"/etc:/etc\"]\n")
		}, "outside"},
		{"pull timeout negative", func(s *compose.Spec, _ *Rollout) { s.Timeouts.Pull = -time.Minute }, "pull timeout -1m0s: must not be negative"},
		{"up timeout negative", func(s *compose.Spec, _ *Rollout) { s.Timeouts.Up = -time.Second }, "up timeout -1s"},
		{"switch timeout negative", func(s *compose.Spec, _ *Rollout) { s.Timeouts.Switch = -time.Second }, "switch timeout -1s"},
		{"lock wait negative", func(s *compose.Spec, _ *Rollout) { s.LockWait = -2 * time.Minute }, "lock wait -2m0s: must not be negative"},
		{"migrate with an open quote", func(s *compose.Spec, _ *Rollout) { s.Migrate = `migrate "up` }, "unclosed double quote"},
		{"migrate blank", func(s *compose.Spec, _ *Rollout) { s.Migrate = "   " }, "no command"},
		{"migrate on two lines", func(s *compose.Spec, _ *Rollout) { s.Migrate = "migrate\nup" }, "one line"},
		{"migrate timeout negative", func(s *compose.Spec, _ *Rollout) { s.Migrate, s.Timeouts.Migrate = "migrate up", -5*time.Minute }, "migrate timeout -5m0s"},
		{"app dir relative", func(s *compose.Spec, _ *Rollout) { s.AppDir = "srv/api" }, "app dir"},
		{"service name bad", func(s *compose.Spec, _ *Rollout) { s.Service = "my service" }, "compose service"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, r := good, Rollout{}
			tt.edit(&s, &r)
			_, err := NewPlan(hosts, s, r)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// The hosts themselves are checked with the spec, before anything (the
// tarball export) depends on it.
func TestNewPlanChecksTheHosts(t *testing.T) {
	spec := compose.Spec{App: "api", Image: "r.example/api:v1", Transfer: host.Registry{}}
	for _, tt := range []struct {
		name  string
		hosts []sshconn.Config
		want  string
	}{
		{"none", nil, "fleet: no hosts"},
		{"twice", []sshconn.Config{testHost("web1"), testHost("web1")}, "host web1:22 is listed twice"},
		{"no known_hosts", []sshconn.Config{{Host: "web2", Port: 22, User: "deploy", PrivateKey: []byte("k")}}, "known_hosts is required"},
		{"bad port", []sshconn.Config{func() sshconn.Config { h := testHost("web3"); h.Port = 0; return h }()}, "ssh port 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewPlan(tt.hosts, spec, Rollout{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// An ssh transfer without an image tags it goship.local/<app>:<version>;
// the tarball may come after the check, and every host reads the same
// file.
func TestNewPlanFillsTheRollout(t *testing.T) {
	spec := compose.Spec{App: "api", Version: "v1.2.3+meta", Transfer: host.SSH{}, Health: host.Health{Settle: 3 * time.Second},
		Timeouts: host.Timeouts{Pull: 20 * time.Minute, Up: 90 * time.Second}}
	plan, err := NewPlan([]sshconn.Config{testHost("203.0.113.9"), testHost("203.0.113.10")}, spec, Rollout{Parallel: 3, Canary: &Canary{Pause: 2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Canary == nil || plan.Canary.Pause != 2*time.Minute || plan.Parallel != 3 || plan.Spec.Health.Settle != 3*time.Second ||
		plan.Spec.Timeouts != (host.Timeouts{Pull: 20 * time.Minute, Up: 90 * time.Second}) {
		t.Fatalf("plan = %+v", plan)
	}
	if plan.Spec.Image != "goship.local/api:v1.2.3_meta" {
		t.Fatalf("ssh transfer: image %q", plan.Spec.Image)
	}
	// Until the tarball is there, Run refuses the plan before dialing.
	if _, err := Run(context.Background(), plan); !errors.Is(err, host.ErrNoTarball) {
		t.Fatalf("run without a tarball: %v", err)
	}
}

// testHost is a host config that passes validation; nothing dials it.
func testHost(h string) sshconn.Config {
	return sshconn.Config{Host: h, Port: 22, User: "deploy", PrivateKey: []byte("k"), KnownHosts: []byte(h + " ssh-ed25519 AAAA\n")}
}

// Maintenance on a fleet names each host it could not reach.
func TestSetMaintenanceNamesEachHostThatFailed(t *testing.T) {
	down := testHost("127.0.0.1")
	down.Port = testworld.FreePort(t) // nothing listens there
	_, err := SetMaintenance(context.Background(), []sshconn.Config{down}, "api", "", nil)
	var he *HostError
	if !errors.As(err, &he) || he.Host != down.Addr() {
		t.Fatalf("err = %v, want a HostError for %s", err, down.Addr())
	}
	if _, err := SetMaintenance(context.Background(), nil, "api", "", nil); err == nil {
		t.Fatal("no hosts accepted")
	}
}
