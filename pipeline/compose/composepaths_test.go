package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/goship-dev/goship/pipeline/testworld"
)

func TestComposePathsResolveAgainstTheSharedDir(t *testing.T) {
	user := []byte(`x-logs: &logs ./logs:/var/log/app
x-common: &common
  env_file: ./common.env
services:
  app:
    <<: *common
    image: example/app
    volumes:
      - ./data:/data
      - data:/named
      - /srv/app/shared/cache:/cache:ro
      - /tmp
      - *logs
      - type: bind
        source: ./conf
        target: /conf
        read_only: true
      - type: volume
        source: other
        target: /other
  worker:
    image: example/worker
    env_file: [.env, sub/worker.env, {path: ./opt.env, required: false}]
volumes:
  data: {}
  other: {}
secrets:
  token:
    file: ./token.txt
`)
	out, err := Compose(Spec{App: "app", AppDir: "/srv/app", Service: "app", Compose: user}, "r.example/app@sha256:1", false)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Volumes []any `yaml:"volumes"`
			EnvFile any   `yaml:"env_file"`
		} `yaml:"services"`
		Secrets map[string]struct {
			File string `yaml:"file"`
		} `yaml:"secrets"`
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	app := doc.Services["app"]
	got := fmt.Sprint(app.Volumes)
	for _, want := range []string{
		"/srv/app/shared/data:/data", " data:/named", "/srv/app/shared/cache:/cache:ro", " /tmp ",
		"/srv/app/shared/logs:/var/log/app", "source:/srv/app/shared/conf", "source:other",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("app volumes lack %q: %s", want, got)
		}
	}
	if fmt.Sprint(app.EnvFile) != "/srv/app/shared/common.env" {
		t.Errorf("env_file from the merged anchor = %v", app.EnvFile)
	}
	if got := fmt.Sprint(doc.Services["worker"].EnvFile); got != "[.env /srv/app/shared/sub/worker.env map[path:/srv/app/shared/opt.env required:false]]" {
		t.Errorf("worker env_file = %s", got)
	}
	if doc.Secrets["token"].File != "/srv/app/shared/token.txt" {
		t.Errorf("secret file = %q", doc.Secrets["token"].File)
	}

	refused := []struct{ compose, want string }{
		{"services:\n  app:\n    volumes: ['../../etc:/etc2']\n", `resolves to /srv/etc, outside the app's shared dir /srv/app/shared`},
		{"services:\n  app:\n    volumes: ['../releases:/r']\n", "resolves to /srv/app/releases, outside"},
		{"services:\n  app:\n    volumes: ['/etc/passwd:/p:ro']\n", "resolves to /etc/passwd, outside"},
		{"services:\n  app:\n    volumes: [{type: bind, source: /var/run/docker.sock, target: /s}]\n", "outside"},
		{"services:\n  app:\n    volumes: ['~/x:/x']\n", "home-relative"},
		{"services:\n  app:\n    volumes: ['${DATA}:/x']\n", "variables"},
		{"services:\n  app:\n    env_file: ../../../etc/shadow\n", `env_file "../../../etc/shadow"`},
		{"services:\n  app:\n    image: x\nconfigs:\n  c:\n    file: /etc/hosts\n", `configs "c" file`},
	}
	for _, tt := range refused {
		spec := Spec{App: "app", AppDir: "/srv/app", Service: "app", Compose: []byte(tt.compose)}
		if _, err := Compose(spec, "img", false); err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "AllowOutsidePaths") {
			t.Errorf("%q: err = %v, want %q and the opt-in named", tt.compose, err, tt.want)
		}
		spec.AllowOutsidePaths = true
		if _, err := Compose(spec, "img", false); err != nil {
			t.Errorf("%q with AllowOutsidePaths: %v", tt.compose, err)
		}
	}
}

// A relative bind mount and env_file point at the app's shared dir, the
// same for every release; a path out of it is refused before anything
// happens on the server.
func TestComposeRelativePathsAreSharedAcrossReleases(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "shared")
	ctx := context.Background()
	compose := fmt.Sprintf(`services:
  app:
    image: placeholder
    ports: ["127.0.0.1:%d:%d"]
    env_file: ./config/app.env
    volumes:
      - ./data:/data:ro
      - cache:/cache
volumes:
  cache: {}
`, port, testworld.HelloPort)
	spec := w.spec(app, port, "v1")
	appDir := spec.AppDir
	shared := filepath.Join(appDir, "shared")
	if err := os.MkdirAll(filepath.Join(shared, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "config", "app.env"), []byte("FROM_SHARED=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.srv.Exec(t, "chown", "-R", testworld.DeployUser+":", appDir)
	t.Cleanup(func() { _, _ = w.docker.Try(nil, "volume", "rm", app+"_cache") })

	for _, v := range []string{"v1", "v2"} {
		spec := w.spec(app, port, v)
		spec.Compose = []byte(compose)
		if _, err := Deploy(ctx, c, spec); err != nil {
			t.Fatalf("deploy %s: %v", v, err)
		}
		id := w.docker.Run(t, nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+app)
		mounts := w.docker.Run(t, nil, "inspect", "--format", "{{range .Mounts}}{{.Type}}:{{.Source}} {{end}}", id)
		if f := strings.Fields(mounts); !slices.Contains(f, "bind:"+filepath.Join(shared, "data")) || !strings.Contains(mounts, "volume:") {
			t.Fatalf("%s mounts %q, want %s/data bound and the named volume", v, mounts, shared)
		}
		if env := w.docker.Run(t, nil, "inspect", "--format", "{{.Config.Env}}", id); !strings.Contains(env, "FROM_SHARED=yes") {
			t.Fatalf("%s env %s lacks the shared env_file", v, env)
		}
	}

	escape := w.spec(app, port, "v1")
	escape.Compose = []byte(strings.Replace(compose, "./data:/data:ro", "../../../../etc:/hostetc:ro", 1))
	fresh := w.spec(app+"x", port, "v1")
	fresh.Compose = escape.Compose
	for _, s := range []Spec{escape, fresh} {
		if _, err := Deploy(ctx, c, s); err == nil || !strings.Contains(err.Error(), "outside the app's shared dir") {
			t.Fatalf("escaping bind mount: %v", err)
		}
	}
	if _, err := os.Stat(fresh.AppDir); !os.IsNotExist(err) {
		t.Fatalf("a refused deploy touched the server: %s exists (%v)", fresh.AppDir, err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q, want v2 still serving", got)
	}
}
