package repocheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// The Dagger Go SDK runs `go mod tidy` over the module source it is
// given, and tidy follows test imports. A package that an included
// package imports (tests included) but dagger.json excludes makes tidy
// look for it on the network, and every function of the module fails in
// its constructor. This happened once; this test keeps it from happening
// again.
func TestModuleSourceHoldsEveryImportedPackage(t *testing.T) {
	root := testworld.RepoRoot(t)
	excluded := daggerExcludes(t, root)
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Dir,Imports,TestImports,XTestImports", "./...")
	// The root module alone: pipeline/ is a module of its own, which the
	// SDK's tidy never walks.
	cmd.Dir, cmd.Env = root, append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	modPath := modulePath(t, root)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath, Dir                    string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p.Dir)
		if isExcluded(filepath.ToSlash(rel), excluded) {
			continue
		}
		checked++
		for _, imp := range append(append(p.Imports, p.TestImports...), p.XTestImports...) {
			if imp != modPath && !strings.HasPrefix(imp, modPath+"/") {
				continue
			}
			dir := strings.TrimPrefix(strings.TrimPrefix(imp, modPath), "/")
			if isExcluded(dir, excluded) {
				t.Errorf("%s imports %s, which dagger.json excludes from the module source: the SDK's go mod tidy would fail on it", p.ImportPath, imp)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package of the module was checked")
	}
}

func TestIsExcluded(t *testing.T) {
	ex := []string{"examples", "pipeline/testworld", "**/testdata"}
	for dir, want := range map[string]bool{
		"examples": true, "examples/hello": true, "pipeline/testworld": true, "pipeline/testworldx": false,
		"internal": false, "pipeline/scan/testdata": true, ".": false,
	} {
		if got := isExcluded(dir, ex); got != want {
			t.Errorf("isExcluded(%q) = %v, want %v", dir, got, want)
		}
	}
}

// daggerExcludes are the "!path" entries of dagger.json's include list.
func daggerExcludes(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "dagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Include []string `json:"include"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("dagger.json: %v", err)
	}
	var out []string
	for _, p := range cfg.Include {
		if ex, ok := strings.CutPrefix(p, "!"); ok {
			out = append(out, strings.Trim(ex, "/"))
		}
	}
	return out
}

// isExcluded reports whether dir (slash-separated, relative to the module
// root) lies under one of the exclude patterns; a leading "**/" matches
// at any depth.
func isExcluded(dir string, patterns []string) bool {
	for _, p := range patterns {
		if sub, ok := strings.CutPrefix(p, "**/"); ok {
			for d := dir; d != "." && d != "/" && d != ""; d = path.Dir(d) {
				if m, _ := path.Match(sub, path.Base(d)); m {
					return true
				}
			}
			continue
		}
		for d := dir; d != "." && d != "/" && d != ""; d = path.Dir(d) {
			if m, _ := path.Match(p, d); m {
				return true
			}
		}
	}
	return false
}

func modulePath(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}
