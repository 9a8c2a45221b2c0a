package kube

import (
	"strings"
	"testing"
	"time"
)

const testDigest = "127.0.0.1:5001/goship/hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func validSpec() Spec { return Spec{App: "hello", Image: testDigest} }

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*Spec)
		wantErr string // "" = valid
	}{
		{"defaults", func(*Spec) {}, ""},
		{"tag refused", func(s *Spec) { s.Image = "127.0.0.1:5001/goship/hello:v1" }, "not pinned by digest"},
		{"empty image", func(s *Spec) { s.Image = "" }, "image is empty"},
		{"short digest", func(s *Spec) { s.Image = "r.example/x@sha256:abc" }, "parsing image reference"},
		{"bad app name", func(s *Spec) { s.App = "Hello_World" }, `app name "Hello_World"`},
		{"port", func(s *Spec) { s.Port = 70000 }, "port 70000"},
		{"health path", func(s *Spec) { s.HealthPath = "healthz" }, "must start with /"},
		{"replicas", func(s *Spec) { s.Replicas = -1 }, "replicas -1"},
		{"quantity", func(s *Spec) { s.MemoryLimit = "lots" }, `memory limit "lots"`},
		{"good quantities", func(s *Spec) { s.CPURequest, s.CPULimit, s.MemoryRequest, s.MemoryLimit = "100m", "1", "64Mi", "128Mi" }, ""},
		{"settle longer than timeout", func(s *Spec) { s.Timeout, s.Settle = 5*time.Second, 10*time.Second }, "settle 10s must be shorter"},
		{"bad env line", func(s *Spec) { s.Env = []byte("A=1\nnot a pair\n") }, ".env line 2"},
		{"bad env key", func(s *Spec) { s.Env = []byte("1A=x") }, `key "1A"`},
		{"auth incomplete", func(s *Spec) { s.RegistryAuth = &RegistryAuth{Host: "r.example", Username: "u"} }, "registry auth"},
		{"kustomization missing its resource", func(s *Spec) { s.Manifests = map[string][]byte{"kustomization.yaml": []byte("resources: [a.yaml]")} }, "kustomize build ."},
		{"nested kustomization not named", func(s *Spec) {
			s.Manifests = map[string][]byte{"overlays/prod/kustomization.yaml": []byte("resources: [../../base]")}
		}, "pass its directory (overlays/prod)"},
		{"strategy", func(s *Spec) { s.Strategy = "canary" }, `strategy "canary"`},
		{"blue-green", func(s *Spec) { s.Strategy = BlueGreen }, ""},
		{"ingress host", func(s *Spec) { s.Ingress = &Ingress{Host: "Not A Host"} }, `ingress host "Not A Host"`},
		{"ingress ok", func(s *Spec) { s.Ingress = &Ingress{Host: "shop.example.com", Class: "alb", TLSSecret: "shop-tls"} }, ""},
		{"policy without name", func(s *Spec) { s.Policy = Policy{Verified: true} }, "names the policy"},
		{"check auth incomplete", func(s *Spec) { s.CheckAuth = &RegistryAuth{Host: "r.example"} }, "registry auth"},
		{"manifests without the app", func(s *Spec) {
			s.Manifests = map[string][]byte{"d.yaml": []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\n")}
		}, `no Deployment named "hello"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validSpec()
			c.change(&s)
			err := s.Validate()
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v, want valid", err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("Validate passed, want error containing %q", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Fatalf("Validate: %v, want it to contain %q", err, c.wantErr)
			}
		})
	}
}

func TestParseDotEnv(t *testing.T) {
	env, err := parseDotEnv([]byte("# comment\n\nexport A=1\nB = \"two words\"\nC='x=y'\nD=\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x=y", "D": ""}
	if len(env) != len(want) {
		t.Fatalf("got %v, want %v", env, want)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, err := parseDotEnv([]byte("SECRET=hunter2\nbroken hunter3\n")); err == nil || strings.Contains(err.Error(), "hunter") {
		t.Fatalf("error %v: want a failure that does not show values", err)
	}
}
