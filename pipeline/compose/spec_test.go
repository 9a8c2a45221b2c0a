package compose

import (
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"

	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestSpecValidation(t *testing.T) {
	good := Spec{App: "hello", Image: "registry.cn-hangzhou.aliyuncs.com/team/hello@sha256:" + strings.Repeat("a", 64), Transfer: host.Registry{Host: "registry.cn-hangzhou.aliyuncs.com"}}
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"bad app", func(s *Spec) { s.App = "Hello World" }, "app name"},
		{"no strategy", func(s *Spec) { s.Transfer = nil }, "no transfer strategy"},
		{"bad image", func(s *Spec) { s.Image = "UPPER/case:x" }, "image"},
		{"image on another registry", func(s *Spec) { s.Image = "ghcr.io/x/y:1" }, "not on registry"},
		{"relative app dir", func(s *Spec) { s.AppDir = "opt/hello" }, "absolute"},
		{"app dir escape", func(s *Spec) { s.AppDir = "/opt/../etc" }, "absolute path without"},
		{"bad publish", func(s *Spec) { s.Publish = "80" }, "publish"},
		{"health path", func(s *Spec) { s.Health.Path = "healthz" }, "must start with /"},
		{"keep 1", func(s *Spec) { s.Keep = 1 }, "at least 2"},
		{"publish port out of range", func(s *Spec) { s.Publish = "70000:8080" }, "out of range"},
		{"publish container port out of range", func(s *Spec) { s.Publish = "8080:70000" }, "out of range"},
		{"publish bad IP", func(s *Spec) { s.Publish = "10.0.0.256:80:8080" }, "not an IPv4 address"},
		{"container port", func(s *Spec) { s.ContainerPort = 70000 }, "container port 70000"},
		{"health path with a space", func(s *Spec) { s.Health.Path = "/health check" }, "no spaces"},
		{"health path with a control character", func(s *Spec) { s.Health.Path = "/healthz\n" }, "no spaces"},
		{"health path with a fragment", func(s *Spec) { s.Health.Path = "/healthz#x" }, "'#'"},
		{"health port", func(s *Spec) { s.Health.Port = 65536 }, "health port 65536"},
		{"health timeout", func(s *Spec) { s.Health.Timeout = -time.Second }, "must not be negative"},
		{"health interval", func(s *Spec) { s.Health.Interval = -time.Second }, "health interval"},
		{"min free disk", func(s *Spec) { s.MinFreeMB = -1 }, "min free disk"},
		{"bad strategy", func(s *Spec) { s.Strategy = "rolling" }, "unknown deploy strategy"},
		{"proxy on recreate", func(s *Spec) { s.Strategy, s.Proxy.Host = StrategyRecreate, "a.example" }, "need with-blue-green"},
		{"proxy host", func(s *Spec) { s.Strategy, s.Proxy.Host = StrategyBlueGreen, "-a.example" }, "proxy host"},
		{"proxy drain", func(s *Spec) { s.Strategy, s.Proxy.Drain = StrategyBlueGreen, -time.Second }, "drain"},
	}
	if _, err := good.withDefaults(); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.mutate(&s)
			if _, err := s.withDefaults(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := host.ParseTransferName("rsync"); err == nil || !strings.Contains(err.Error(), "unknown transfer strategy") {
		t.Fatalf("ParseTransferName(rsync) = %v", err)
	}
	d, _ := good.withDefaults()
	if d.AppDir != "/opt/hello" || d.Health.Port != 8080 || d.Health.Host != "127.0.0.1" || d.Publish != "8080:8080" || d.Keep != 5 {
		t.Fatalf("defaults = %+v", d)
	}
	hub := good
	hub.Image, hub.Transfer = "index.docker.io/team/hello:v1", host.Registry{Host: "docker.io"}
	if _, err := hub.withDefaults(); err != nil {
		t.Fatalf("Docker Hub by its short name: %v", err)
	}
	noTarball := good
	noTarball.Transfer = host.SSH{}
	if d, err := noTarball.withDefaults(); err != nil || !errors.Is(d.ready(), host.ErrNoTarball) {
		t.Fatalf("ssh transfer without a tarball: valid %v, ready %v", err, d.ready())
	}
	bound := good
	bound.Publish = "10.0.0.5:80:8080"
	if d, _ := bound.withDefaults(); d.Health.Host != "10.0.0.5" || d.Health.Port != 80 {
		t.Fatalf("publish on one IP: health %+v", d.Health)
	}
}

func TestComposePinsImageAndKeepsTheRest(t *testing.T) {
	user := []byte(`# my compose
services:
  web:
    image: example/web:latest  # replaced by goship
    ports: ["80:8080"]
    environment:
      MODE: prod
  redis:
    image: redis:7
`)
	out, err := Compose(Spec{Compose: user, Service: "web"}, "r.example/web@sha256:abc", false)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Services["web"].Image != "r.example/web@sha256:abc" || doc.Services["redis"].Image != "redis:7" || doc.Services["web"].Environment["MODE"] != "prod" {
		t.Fatalf("compose = %s", out)
	}
	if !strings.Contains(string(out), "# my compose") {
		t.Fatal("comments lost")
	}
	if _, err := Compose(Spec{Compose: user, Service: "api"}, "x", false); err == nil || !strings.Contains(err.Error(), `no service "api"`) {
		t.Fatalf("missing service: %v", err)
	}
	if _, err := Compose(Spec{Compose: []byte("services: [")}, "x", false); err == nil {
		t.Fatal("broken YAML accepted")
	}
}

func TestGeneratedCompose(t *testing.T) {
	out, err := Compose(Spec{App: "hello", Service: "app", Publish: "127.0.0.1:9000:8080"}, "img@sha256:1", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"image: img@sha256:1", "127.0.0.1:9000:8080", "env_file:", "max-size: 10m", "restart: unless-stopped"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("generated compose lacks %q:\n%s", want, out)
		}
	}
}

func FuzzValidateApp(f *testing.F) {
	for _, s := range []string{"hello", "a_b-c", "", "-x", "x/../y", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, app string) {
		if host.ValidateApp(app) != nil {
			return
		}
		if strings.ContainsAny(app, "/ .'\"$`\\") || strings.HasPrefix(app, "-") {
			t.Fatalf("ValidateApp accepted %q, which is unsafe in a path or shell", app)
		}
	})
}

func TestFormatReleases(t *testing.T) {
	out := FormatReleases([]host.Record{
		{Name: "20260102030405-v2", Outcome: outcome.ReleaseHealthy, Version: "v2", Image: "r/x@sha256:2", Who: "ci", Current: true},
		{Name: "20260101030405-v1", Outcome: outcome.ReleaseHealthy, Version: "v1", Image: "r/x@sha256:1", Who: "ci"},
	})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "*") || strings.HasPrefix(lines[2], "*") {
		t.Fatalf("table:\n%s", out)
	}
}

func TestFormatStatus(t *testing.T) {
	base := State{Release: host.Record{Name: "r1", Image: "img", Version: "v1"}, Container: "running", Health: "healthy", Matches: true}
	for _, tt := range []struct {
		mutate func(*State)
		want   string
	}{
		{func(*State) {}, "OK: release r1"},
		{func(s *State) { s.Container = "exited" }, "DOWN"},
		{func(s *State) { s.Matches = false }, "DRIFT"},
		{func(s *State) { s.Health = "unhealthy" }, "UNHEALTHY"},
	} {
		st := base
		tt.mutate(&st)
		if got := FormatStatus(&st); !strings.HasPrefix(got, tt.want) {
			t.Errorf("FormatStatus = %q, want prefix %q", got, tt.want)
		}
	}
}

// The registry the server logs in to is the image's, Docker Hub's under
// either of its names (references must name their registry).
func TestTheRegistryIsTheImages(t *testing.T) {
	for image, want := range map[string]string{
		"r.example/api:v1":              "r.example",
		"127.0.0.1:5000/api:v1":         "127.0.0.1:5000",
		"localhost/api:v1":              "localhost",
		"docker.io/library/nginx:1.27":  "docker.io",
		"index.docker.io/team/api:v1.2": "index.docker.io",
	} {
		s, err := Spec{App: "api", Image: image, Transfer: host.Registry{Username: "ci", Password: "pw"}}.withDefaults()
		if err != nil {
			t.Fatalf("%s: %v", image, err)
		}
		if got := s.Transfer.(host.Registry).Host; got != want {
			t.Errorf("%s: registry %q, want %q", image, got, want)
		}
	}
}
