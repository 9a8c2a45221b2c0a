package fleet

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Plan checks the whole request, for every strategy, before any host is
// dialed (the hosts here do not exist).
func TestRequestPlanChecksEverythingUpFront(t *testing.T) {
	hosts := []sshconn.Config{testHost("203.0.113.9")}
	good := Request{Spec: compose.Spec{App: "api", Image: "r.example/api@sha256:" + strings.Repeat("a", 64)}, Transfer: "registry"}
	missing := filepath.Join(t.TempDir(), "image.tar")
	for _, tt := range []struct {
		name    string
		edit    func(*Request)
		wantErr string
	}{
		{"ok", func(*Request) {}, ""},
		{"port out of range", func(r *Request) { r.Spec.Publish = "70000:8080" }, "out of range"},
		{"blue-green port out of range", func(r *Request) { r.Strategy, r.Spec.Publish = "blue-green", "8080:70000" }, "out of range"},
		{"bad strategy", func(r *Request) { r.Strategy = "canary" }, "unknown deploy strategy"},
		{"bad transfer", func(r *Request) { r.Transfer = "ftp" }, "unknown transfer"},
		{"bad duration", func(r *Request) { r.HealthTimeout = "soon" }, "--health-timeout"},
		{"proxy flags on recreate", func(r *Request) { r.Strategy, r.ProxyHost = "recreate", "api.example.com" }, "need --strategy=blue-green"},
		{"registry without image", func(r *Request) { r.Spec.Image = "" }, "--image is required"},
		{"bad app", func(r *Request) { r.Spec.App = "API" }, "app name"},
		{"publish host port 0", func(r *Request) { r.Spec.Publish = "0:8080" }, "out of range"},
		{"publish without container port", func(r *Request) { r.Spec.Publish = "8080" }, "want [ip:]hostPort:containerPort"},
		{"publish IP out of range", func(r *Request) { r.Spec.Publish = "300.1.1.1:80:8080" }, "not an IPv4 address"},
		{"publish IPv6", func(r *Request) { r.Spec.Publish = "[::1]:80:8080" }, "want [ip:]hostPort:containerPort"},
		{"health path relative", func(r *Request) { r.Spec.Health.Path = "healthz" }, "must start with /"},
		{"health path with a space", func(r *Request) { r.Spec.Health.Path = "/health z" }, "no spaces"},
		{"health path with a fragment", func(r *Request) { r.Spec.Health.Path = "/healthz#top" }, "'#'"},
		{"health port out of range", func(r *Request) { r.Spec.Health.Port = 70000 }, "health port 70000"},
		{"health port negative", func(r *Request) { r.Spec.Health.Port = -1 }, "health port -1"},
		{"health timeout negative", func(r *Request) { r.HealthTimeout = "-5s" }, "must not be negative"},
		{"health settle not a duration", func(r *Request) { r.HealthSettle = "5" }, "--health-settle"},
		{"keep 1", func(r *Request) { r.Spec.Keep = 1 }, "at least 2"},
		{"keep negative", func(r *Request) { r.Spec.Keep = -3 }, "at least 2"},
		{"parallel negative", func(r *Request) { r.Parallel = -1 }, "parallel -1"},
		{"canary not a duration", func(r *Request) { r.Canary = "later" }, "--canary"},
		{"canary negative", func(r *Request) { r.Canary = "-2m" }, "canary pause -2m0s"},
		{"drain negative", func(r *Request) { r.Strategy, r.Drain = "blue-green", "-1s" }, "drain -1s"},
		{"drain not a duration", func(r *Request) { r.Drain = "a while" }, "--drain"},
		{"proxy host not a DNS name", func(r *Request) { r.Strategy, r.ProxyHost = "blue-green", "API_host" }, "proxy host"},
		{"proxy dir relative", func(r *Request) { r.Strategy, r.ProxyDir = "blue-green", "opt/proxy" }, "proxy dir"},
		{"proxy image bad", func(r *Request) { r.Strategy, r.ProxyImage = "blue-green", "Caddy:Latest" }, "proxy image"},
		{"proxy named like the app", func(r *Request) { r.Strategy, r.Spec.App = "blue-green", "goship-proxy" }, "has the proxy's name"},
		{"image not a reference", func(r *Request) { r.Spec.Image = "not a reference" }, "image"},
		{"username without password", func(r *Request) { r.RegistryUsername = "ci" }, "go together"},
		{"password without username", func(r *Request) { r.RegistryPassword = "s3cret" }, "go together"},
		{"ssh tarball missing", func(r *Request) { r.Transfer, r.Tarball = "ssh", missing }, "image tarball for --transfer=ssh: stat "},
		{"compose without the service", func(r *Request) { r.Spec.Compose = []byte("services:\n  web:\n    image: x\n") }, `no service "app"`},
		{"compose mounting outside shared", func(r *Request) {
			r.Spec.Compose = []byte("services:\n  app:\n    image: x\n    volumes: [\"/etc:/etc\"]\n")
		}, "outside"},
		{"pull timeout not a duration", func(r *Request) { r.PullTimeout = "ten minutes" }, "--pull-timeout"},
		{"pull timeout negative", func(r *Request) { r.PullTimeout = "-1m" }, "pull timeout -1m0s: must not be negative"},
		{"up timeout negative", func(r *Request) { r.UpTimeout = "-1s" }, "up timeout -1s"},
		{"switch timeout not a duration", func(r *Request) { r.SwitchTimeout = "2" }, "--switch-timeout"},
		{"lock wait not a duration", func(r *Request) { r.LockWait = "2" }, "--lock-wait"},
		{"lock wait negative", func(r *Request) { r.LockWait = "-2m" }, "lock wait -2m0s: must not be negative"},
		{"migrate with an open quote", func(r *Request) { r.Migrate = `migrate "up` }, "unclosed double quote"},
		{"migrate blank", func(r *Request) { r.Migrate = "   " }, "no command"},
		{"migrate on two lines", func(r *Request) { r.Migrate = "migrate\nup" }, "one line"},
		{"migrate timeout negative", func(r *Request) { r.Migrate, r.MigrateTimeout = "migrate up", "-5m" }, "migrate timeout -5m0s"},
		{"migrate timeout not a duration", func(r *Request) { r.MigrateTimeout = "forever" }, "--migrate-timeout"},
		{"app dir relative", func(r *Request) { r.Spec.AppDir = "srv/api" }, "app dir"},
		{"service name bad", func(r *Request) { r.Spec.Service = "my service" }, "compose service"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			_, closeAll, err := r.Plan(hosts)
			closeAll()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// The hosts themselves are checked with the request, before anything
// (the tarball export) depends on it.
func TestRequestPlanChecksTheHosts(t *testing.T) {
	r := Request{Spec: compose.Spec{App: "api", Image: "r.example/api:v1"}, Transfer: "registry"}
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
			_, closeAll, err := r.Plan(tt.hosts)
			closeAll()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// The registry the server logs in to is the image's, Docker Hub's under
// either of its names (references must name their registry).
func TestRequestPlanFindsTheImagesRegistry(t *testing.T) {
	for image, want := range map[string]string{
		"r.example/api:v1":              "r.example",
		"127.0.0.1:5000/api:v1":         "127.0.0.1:5000",
		"localhost/api:v1":              "localhost",
		"docker.io/library/nginx:1.27":  "docker.io",
		"index.docker.io/team/api:v1.2": "index.docker.io",
	} {
		r := Request{Spec: compose.Spec{App: "api", Image: image}, Transfer: "registry", RegistryUsername: "ci", RegistryPassword: "pw"}
		plan, closeAll, err := r.Plan([]sshconn.Config{testHost("web1")})
		closeAll()
		if err != nil {
			t.Fatalf("%s: %v", image, err)
		}
		if got := plan.Spec.Transfer.(host.Registry).Host; got != want {
			t.Errorf("%s: registry %q, want %q", image, got, want)
		}
	}
}

// testHost is a host config that passes validation; nothing dials it.
func testHost(h string) sshconn.Config {
	return sshconn.Config{Host: h, Port: 22, User: "deploy", PrivateKey: []byte("k"), KnownHosts: []byte(h + " ssh-ed25519 AAAA\n")}
}

func TestRequestPlanFillsTheRollout(t *testing.T) {
	r := Request{Spec: compose.Spec{App: "api", Version: "v1.2.3+meta"}, Transfer: "ssh", Canary: "2m", Parallel: 3, HealthSettle: "3s", PullTimeout: "20m", UpTimeout: "90s"}
	plan, closeAll, err := r.Plan([]sshconn.Config{testHost("203.0.113.9")})
	defer closeAll()
	if err != nil {
		t.Fatal(err)
	}
	if plan.Canary == nil || plan.Canary.Pause != 2*time.Minute || plan.Parallel != 3 || plan.Spec.Health.Settle != 3*time.Second ||
		plan.Spec.Timeouts != (host.Timeouts{Pull: 20 * time.Minute, Up: 90 * time.Second}) {
		t.Fatalf("plan = %+v", plan)
	}
	if plan.Spec.Image != "goship.local/api:v1.2.3_meta" || plan.ForHost == nil {
		t.Fatalf("ssh transfer: image %q, per-host tarball %v", plan.Spec.Image, plan.ForHost != nil)
	}
}
