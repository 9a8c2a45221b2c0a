package testworld

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// Tool finds one of goship's pinned tools (trivy, trivy-fixturedb,
// golangci-lint, …) on PATH or in scripts/tools.sh's cache.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	cached := filepath.Join(home, ".cache", "goship-tools", "bin", name)
	if _, err := os.Stat(cached); err == nil {
		return cached
	}
	t.Fatalf("testworld: %s not found: run scripts/tools.sh (it builds the pinned tools) and put the directory it prints on PATH", name)
	return ""
}

// GoModuleProxy serves module path at versions from a file:// GOPROXY, so
// fixture binaries can embed a real dependency version offline.
func GoModuleProxy(t testing.TB, path string, versions ...string) string {
	t.Helper()
	root := Dir(t, "goproxy")
	dir := filepath.Join(root, filepath.FromSlash(path), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var list string
	for _, v := range versions {
		src := Dir(t, "modsrc")
		gomod := "module " + path + "\n\ngo 1.22\n"
		writeFile(t, filepath.Join(src, "go.mod"), []byte(gomod), 0o644)
		writeFile(t, filepath.Join(src, "lib.go"), []byte("// Package lib is a goship scan fixture.\npackage lib\n\n// Version is this fixture's version.\nconst Version = \""+v+"\"\n"), 0o644)
		f, err := os.Create(filepath.Join(dir, v+".zip"))
		if err != nil {
			t.Fatal(err)
		}
		if err := modzip.CreateFromDir(f, module.Version{Path: path, Version: v}, src); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		writeFile(t, filepath.Join(dir, v+".mod"), []byte(gomod), 0o644)
		writeFile(t, filepath.Join(dir, v+".info"), []byte(fmt.Sprintf(`{"Version":%q}`, v)), 0o644)
		list += v + "\n"
	}
	writeFile(t, filepath.Join(dir, "list"), []byte(list), 0o644)
	return "file://" + root
}

// BinaryWithDependency builds a static program that imports depPath at
// depVersion (served by proxy), so its build info names that version.
func BinaryWithDependency(t testing.TB, proxy, depPath, depVersion string) []byte {
	t.Helper()
	return BinaryImporting(t, proxy, depPath, "require "+depPath+" "+depVersion+"\n", "-trimpath")
}

// BinaryImporting builds a static program, module example.com/scanme, that
// imports depPath, with requires (require and replace lines for go.mod)
// and extra go build arguments (e.g. -ldflags).
func BinaryImporting(t testing.TB, proxy, depPath, requires string, buildArgs ...string) []byte {
	t.Helper()
	src := Dir(t, "scanme")
	writeFile(t, filepath.Join(src, "go.mod"), []byte("module example.com/scanme\n\ngo 1.22\n\n"+requires), 0o644)
	writeFile(t, filepath.Join(src, "main.go"), []byte("package main\n\nimport lib \""+depPath+"\"\n\nfunc main() { println(lib.Version) }\n"), 0o644)
	out := filepath.Join(src, "scanme")
	env := []string{"GOPROXY=" + proxy, "GOSUMDB=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOWORK=off", "GOMODCACHE=" + filepath.Join(src, "modcache")}
	args := append(append([]string{"go", "build"}, buildArgs...), "-o", out, ".")
	if _, err := runIn(src, env, args...); err != nil {
		t.Fatalf("testworld: build scan fixture: %v", err)
	}
	t.Cleanup(func() { _, _ = runIn(src, nil, "chmod", "-R", "u+w", src) })
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteImageTarball writes img as a docker-save tarball tagged ref.
func WriteImageTarball(t testing.TB, img v1.Image, ref string) string {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(Dir(t, "tarball"), "image.tar")
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// TrivyDB writes an offline Trivy DB into cacheDir holding one HIGH
// advisory for pkg: vulnerable below patched.
func TrivyDB(t testing.TB, cacheDir, id, pkg, vulnerable, patched string) {
	t.Helper()
	bin := Tool(t, "trivy-fixturedb")
	if _, err := runIn(cacheDir, nil, bin, "-dir", cacheDir, "-id", id, "-pkg", pkg, "-vulnerable", vulnerable, "-patched", patched, "-severity", "HIGH"); err != nil {
		t.Fatalf("testworld: write trivy DB: %v", err)
	}
}
