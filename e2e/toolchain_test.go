//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// goship installed the way Dagger v0.21 users install a module: as a
// toolchain of their repository, its checks run by `dagger check` with
// constructor defaults set through customizations in dagger.json. One
// repository has package main in a root file that is not main.go, the
// other is a library with no main package.
func TestToolchainChecks(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"root-main-in-app-go": {
			"go.mod":      "module example.com/rootapp\n\ngo 1.26\n",
			"app.go":      "// Command rootapp greets.\npackage main\n\nimport \"fmt\"\n\nfunc greeting() string { return \"hello\" }\n\nfunc main() { fmt.Println(greeting()) }\n",
			"app_test.go": "package main\n\nimport \"testing\"\n\nfunc TestGreeting(t *testing.T) {\n\tif greeting() != \"hello\" {\n\t\tt.Fatal(greeting())\n\t}\n}\n",
			"grpc/doc.go": "// Package grpc has no tests.\npackage grpc\n\n// Name names it.\nconst Name = \"grpc\"\n",
		},
		"library": {
			"go.mod":      "module example.com/lib\n\ngo 1.26\n",
			"lib.go":      "// Package lib adds.\npackage lib\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
			"lib_test.go": "package lib\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal(Add(1, 2))\n\t}\n}\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			repo := testworld.Dir(t, "repo")
			for f, content := range files {
				writeFile(t, filepath.Join(repo, f), content)
			}
			must(t, dagger(t, repo, nil, "init", "--name=myapp"), "dagger init")
			// Users install from a git ref; a local toolchain must sit inside
			// the repository, so this copy of goship goes where Go's ./...
			// and goship's source filter do not look.
			copyCheckout(t, filepath.Join(repo, ".dagger", "goship"))
			must(t, dagger(t, repo, nil, "toolchain", "install", "./.dagger/goship"), "dagger toolchain install")
			customize(t, repo, map[string]string{"scanners": "secret"}, nil)
			list := dagger(t, repo, nil, "check", "-l")
			must(t, list, "dagger check -l")
			for _, c := range []string{"goship:ci", "goship:lint", "goship:scan", "goship:test"} {
				if !strings.Contains(list.out, c) {
					t.Fatalf("dagger check -l lacks %s:\n%s", c, list.out)
				}
			}
			must(t, dagger(t, repo, nil, "check"), "dagger check")
		})
	}
}

// copyCheckout copies this checkout's files (tracked and untracked, not
// ignored) to dst.
func copyCheckout(t *testing.T, dst string) {
	t.Helper()
	root := testworld.RepoRoot(t)
	cmd := exec.Command("sh", "-c", `git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$0"`, dst)
	cmd.Dir = root
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy goship: %v\n%s", err, out)
	}
}

// customize sets goship's constructor defaults in the repository's
// dagger.json: the engine's image overrides, with values (which win over
// those) and paths (defaultPath customizations) added.
func customize(t *testing.T, repo string, values, paths map[string]string) {
	t.Helper()
	path := filepath.Join(repo, "dagger.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var custom []map[string]string
	for _, a := range engineArgs() {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if _, overridden := values[camel(k)]; !overridden {
			custom = append(custom, map[string]string{"argument": camel(k), "default": v})
		}
	}
	for k, v := range values {
		custom = append(custom, map[string]string{"argument": k, "default": v})
	}
	for k, v := range paths {
		custom = append(custom, map[string]string{"argument": k, "defaultPath": v})
	}
	toolchains, _ := cfg["toolchains"].([]any)
	if len(toolchains) != 1 {
		t.Fatalf("dagger.json has toolchains %v, want goship alone:\n%s", toolchains, data)
	}
	toolchains[0].(map[string]any)["customizations"] = custom
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestToolchainCacheFromCustomization is the README's `dagger check` on a
// fresh runner: goship as a toolchain, its cacheFrom set by a defaultPath
// customization to the repository's .goship-cache, which an earlier
// `caches export` filled. The checks run with the Go proxy off in a cache
// namespace no call has used, so the module download can only come from
// that directory; the same checks without the customization fail.
func TestToolchainCacheFromCustomization(t *testing.T) {
	repo := testworld.Dir(t, "repo")
	if out, err := exec.Command("cp", "-r", filepath.Join(testworld.RepoRoot(t), "examples", "hello-service", "."), repo).CombinedOutput(); err != nil {
		t.Fatalf("copy hello-service: %v\n%s", err, out)
	}
	addDependency(t, repo)
	stamp := time.Now().UnixNano()
	// The previous run's caches, exported where the workflow keeps them.
	warm := fmt.Sprintf("--cache-namespace=toolchain-seed-%d", stamp)
	must(t, goship(t, repo, nil, warm, "test", "entries"), "test in the seeding namespace")
	must(t, goship(t, repo, nil, warm, "caches", "export", "--path="+filepath.Join(repo, ".goship-cache"), "--wipe"), "caches export")

	must(t, dagger(t, repo, nil, "init", "--name=myapp"), "dagger init")
	copyCheckout(t, filepath.Join(repo, ".dagger", "goship"))
	must(t, dagger(t, repo, nil, "toolchain", "install", "./.dagger/goship"), "dagger toolchain install")
	offline := func(namespace string) map[string]string {
		return map[string]string{"scanners": "secret", "goproxy": "off", "cacheNamespace": fmt.Sprintf("%s-%d", namespace, stamp)}
	}

	customize(t, repo, offline("toolchain-unseeded"), nil)
	r := dagger(t, repo, nil, "check")
	if r.err == nil {
		t.Fatalf("dagger check with the proxy off and no cacheFrom passed: the check found the module download elsewhere, so this test proves nothing:\n%s", tail(r.out, 3000))
	}
	if !strings.Contains(r.out, "golang.org/x/sync") {
		t.Fatalf("dagger check without cacheFrom failed, but not for the missing module download:\n%s", tail(r.out, 3000))
	}

	customize(t, repo, offline("toolchain-seeded"), map[string]string{"cacheFrom": ".goship-cache"})
	must(t, dagger(t, repo, nil, "check"), "dagger check seeded through the cacheFrom customization")
}

// camel turns a flag name (go-image) into its argument name (goImage).
func camel(flag string) string {
	parts := strings.Split(flag, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}
