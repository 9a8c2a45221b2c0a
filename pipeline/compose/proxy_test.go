package compose

import (
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/proxy"

	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		in      string
		want    Strategy
		wantErr string
	}{
		{"", "", ""}, // keep what the app runs
		{"recreate", StrategyRecreate, ""},
		{"blue-green", StrategyBlueGreen, ""},
		{"bluegreen", "", `unknown deploy strategy "bluegreen": want one of recreate, blue-green`},
		{"Blue-Green", "", "unknown deploy strategy"},
	}
	for _, tt := range tests {
		got, err := ParseStrategy(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseStrategy(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseStrategy(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSpecRejectsBadBlueGreenSettings(t *testing.T) {
	base := func() Spec {
		return Spec{App: "hello", Image: "registry.example/hello:v1", Transfer: host.Registry{}, Strategy: StrategyBlueGreen}
	}
	tests := []struct {
		name    string
		edit    func(*Spec)
		wantErr string
	}{
		{"unknown strategy", func(s *Spec) { s.Strategy = "rolling" }, `unknown deploy strategy "rolling"`},
		{"proxy host", func(s *Spec) { s.Proxy.Host = "Bad_Host" }, `proxy host "Bad_Host"`},
		{"proxy dir", func(s *Spec) { s.Proxy.Root = "/opt/../etc" }, `proxy dir "/opt/../etc"`},
		{"proxy image", func(s *Spec) { s.Proxy.Image = "UPPER/case" }, `proxy image "UPPER/case"`},
		{"proxy named like the app", func(s *Spec) { s.Proxy.Name = "hello" }, `has the proxy's name`},
		{"negative drain", func(s *Spec) { s.Proxy.Drain = -time.Second }, "must not be negative"},
		{"proxy settings with recreate", func(s *Spec) { s.Strategy, s.Proxy.Host = StrategyRecreate, "a.example.com" }, "proxy settings (with-proxy) need with-blue-green"},
	}
	// An image alone is no proxy setting: a module fills it from a mirror.
	mirrored := base()
	mirrored.Strategy, mirrored.Proxy.Image = StrategyRecreate, "mirror.example/caddy:2"
	if _, err := mirrored.withDefaults(); err != nil {
		t.Fatalf("recreate with a (mirrored) proxy image: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.edit(&s)
			if _, err := s.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("withDefaults() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	s, err := base().withDefaults()
	if err == nil {
		_, s, err = forDeploy(s, host.Record{})
	}
	if err != nil {
		t.Fatal(err)
	}
	if s.Proxy.Name != "goship-proxy" || s.Proxy.Root != "/opt/goship-proxy" || s.Proxy.Image != image.DefaultProxy().Ref() || s.Proxy.Drain != 30*time.Second {
		t.Fatalf("proxy defaults = %+v", s.Proxy)
	}
	if pr := s.proxyRecord(); pr.Port != 8080 || pr.Bind != "" {
		t.Fatalf("public address from the default publish: %+v", pr)
	}
}

func TestDefaultProxyImageIsPinned(t *testing.T) {
	p := image.DefaultProxy()
	if !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != 71 || p.Tag == "" || p.Source == "" {
		t.Fatalf("default proxy image %+v: want a tag, a sha256 digest and its source", p)
	}
	for ref, ok := range map[string]bool{
		p.Ref():                     true,
		"caddy:2.11":                true,
		"caddy@" + p.Digest:         true,
		"caddy:2.11@sha256:abc":     false,
		"caddy:Bad Tag@" + p.Digest: false,
	} {
		if err := validImage(ref); (err == nil) != ok {
			t.Errorf("validImage(%q) = %v, want ok=%v", ref, err, ok)
		}
	}
}

func TestBlueGreenComposeJoinsTheProxyNetworkWithoutPorts(t *testing.T) {
	spec := Spec{App: "hello", Service: "app", ContainerPort: 8080, Publish: "127.0.0.1:80:8080", Proxy: Proxy{Name: "goship-proxy"}}
	user := []byte(`services:
  app:
    image: old
    ports: ["80:8080"]
    networks: [backend]
  db:
    image: postgres
networks:
  backend: {}
`)
	for name, compose := range map[string][]byte{"generated": nil, "user's": user} {
		t.Run(name, func(t *testing.T) {
			s := spec
			s.Compose = compose
			out, err := BlueGreenCompose(s, "registry.example/hello@sha256:abc", false)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Services map[string]struct {
					Image    string
					Ports    []string
					Networks map[string]struct{ Aliases []string }
				}
				Networks map[string]struct {
					External bool
					Name     string
				}
			}
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			app := doc.Services["app"]
			if app.Image != "registry.example/hello@sha256:abc" || len(app.Ports) != 0 {
				t.Fatalf("the service must run the release's image and publish nothing:\n%s", out)
			}
			if a := app.Networks[proxyNetwork].Aliases; len(a) != 1 || !strings.HasPrefix(a[0], "goship-hello-${GOSHIP_COLOR:?") {
				t.Fatalf("aliases on the proxy network: %v\n%s", a, out)
			}
			if n := doc.Networks[proxyNetwork]; !n.External || n.Name != "goship-proxy" {
				t.Fatalf("proxy network: %+v\n%s", n, out)
			}
			want := "default"
			if compose != nil {
				want = "backend" // its own networks are kept
			}
			if _, ok := app.Networks[want]; !ok {
				t.Fatalf("the service left network %s:\n%s", want, out)
			}
		})
	}
}

func TestStrategyAndProxyAreKeptUnlessGiven(t *testing.T) {
	running := host.Record{Name: "r2"}
	writeState(&running, blueGreen{}, blueGreenState{Color: ColorBlue, Proxy: &proxy.Record{
		Name: "edge", Root: "/srv/edge", Image: "mirror.example/caddy:2", Port: 80, Host: "a.example.com", Drain: 5 * time.Second,
	}})
	tests := []struct {
		name  string
		spec  Spec
		prev  host.Record
		want  Strategy
		proxy Proxy
	}{
		{"new app", Spec{}, host.Record{}, StrategyRecreate, Proxy{}},
		{"record from before strategies", Spec{}, host.Record{Name: "r1"}, StrategyRecreate, Proxy{}},
		{"blue-green app, nothing given", Spec{}, running, StrategyBlueGreen,
			Proxy{Name: "edge", Root: "/srv/edge", Image: "mirror.example/caddy:2", Host: "a.example.com", Drain: 5 * time.Second}},
		{"blue-green app, drain given", Spec{Proxy: Proxy{Drain: time.Second}}, running, StrategyBlueGreen,
			Proxy{Name: "edge", Root: "/srv/edge", Image: "mirror.example/caddy:2", Host: "a.example.com", Drain: time.Second}},
		{"moving back", Spec{Strategy: StrategyRecreate}, running, StrategyRecreate, Proxy{}},
		{"moving to blue-green", Spec{Strategy: StrategyBlueGreen}, host.Record{Name: "r1", Strategy: string(StrategyRecreate)}, StrategyBlueGreen,
			Proxy{Name: "goship-proxy", Root: "/opt/goship-proxy", Image: image.DefaultProxy().Ref(), Drain: 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := forDeploy(tt.spec, tt.prev)
			if err != nil || got.Strategy != tt.want || got.Proxy != tt.proxy {
				t.Fatalf("forDeploy = %q %+v, %v; want %q %+v", got.Strategy, got.Proxy, err, tt.want, tt.proxy)
			}
		})
	}
}
