package project

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// service is a module shaped like real services: package main in a root
// file not named main.go, a tool under cmd/, and every kind of directory
// or file the go tool leaves out of ./... for linux/amd64 without cgo.
var service = map[string]string{
	"go.mod":                 "module example.com/svc\n\ngo 1.22\n",
	"app.go":                 "// Command svc serves.\npackage main\n\nfunc main() {}\n",
	"app_test.go":            "package main\n",
	"grpc/grpc.go":           "package grpc\n",
	"cmd/tool/run.go":        "package main\n\nfunc main() {}\n",
	"internal/gen/gen.go":    "package gen\n",
	"internal/gen/mk.go":     "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
	"scripts/release.go":     "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
	"tools/main_windows.go":  "package main\n\nfunc main() {}\n",
	"tools/darwin.go":        "//go:build darwin\n\npackage main\n\nfunc main() {}\n",
	"cgo/cgo.go":             "package main\n\nimport \"C\"\n\nfunc main() {}\n",
	"onlytests/x_test.go":    "package main\n",
	"testdata/fixture/m.go":  "package main\n\nfunc main() {}\n",
	"vendor/example.com/v/m": "package main\n",
	"_old/main.go":           "package main\n\nfunc main() {}\n",
	".hidden/main.go":        "package main\n\nfunc main() {}\n",
	"nested/go.mod":          "module example.com/nested\n\ngo 1.22\n",
	"nested/main.go":         "package main\n\nfunc main() {}\n",
	"deep/a/b/serve.go":      "package main\n\nfunc main() {}\n",
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The go tool is the reference: MainPackages must find exactly the main
// packages with buildable files `go list ./...` reports for the platform
// goship builds.
func TestMainPackagesAgreesWithGoList(t *testing.T) {
	dir := writeTree(t, service)
	got, err := MainPackages(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".", "./cmd/tool", "./deep/a/b"}
	if !slices.Equal(got, want) {
		t.Fatalf("MainPackages = %q, want %q", got, want)
	}

	cmd := exec.Command("go", "list", "-e", "-f", `{{if and (eq .Name "main") .GoFiles}}{{.ImportPath}}{{end}}`, "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var listed []string
	for _, ip := range strings.Fields(string(out)) {
		listed = append(listed, relPkg(strings.TrimPrefix(strings.TrimPrefix(ip, "example.com/svc"), "/")))
	}
	slices.Sort(listed)
	if !slices.Equal(got, listed) {
		t.Fatalf("MainPackages = %q, go list says %q", got, listed)
	}
}

func TestMainPackages(t *testing.T) {
	mod := "module example.com/x\n\ngo 1.22\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"library", map[string]string{"go.mod": mod, "lib.go": "package x\n", "lib_test.go": "package x\n"}, nil},
		{"root main in server.go", map[string]string{"go.mod": mod, "server.go": "package main\n"}, []string{"."}},
		{"main.go that is not main", map[string]string{"go.mod": mod, "main.go": "package x\n"}, nil},
		{"files that disagree, one says main", map[string]string{"go.mod": mod, "a/a.go": "package main\n", "a/b.go": "package other\n"}, []string{"./a"}},
		{"files that disagree, none says main", map[string]string{"go.mod": mod, "a/a.go": "package one\n", "a/b.go": "package other\n"}, nil},
		{"old +build ignore", map[string]string{"go.mod": mod, "gen.go": "// +build ignore\n\npackage main\n", "x.go": "package x\n"}, nil},
		{"linux and amd64 files count", map[string]string{"go.mod": mod, "cmd/d/d_linux_amd64.go": "package main\n"}, []string{"./cmd/d"}},
		{"package documentation is ignored", map[string]string{"go.mod": mod, "doc/doc.go": "package documentation\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			got, err := MainPackages(fsys)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("MainPackages = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMainPackage(t *testing.T) {
	tests := []struct {
		candidates []string
		want       string
		err        []string
	}{
		{[]string{"./cmd/hello"}, "./cmd/hello", nil},
		{[]string{"."}, ".", nil},
		{[]string{".", "./cmd/tool"}, "./cmd/tool", nil},
		{[]string{".", "./cmd/tool", "./tools/gen"}, "./cmd/tool", nil},
		{[]string{".", "./tools/gen"}, ".", nil},
		{[]string{"./cmd/a/b"}, "./cmd/a/b", nil}, // not one level under cmd/, but the only one
		{[]string{"./server"}, "./server", nil},
		{[]string{"cmd/hello"}, "./cmd/hello", nil}, // without ./ too
		{[]string{"./cmd/b", "./cmd/a"}, "", []string{"several main packages under cmd/: ./cmd/a, ./cmd/b", "--pkg"}},
		{[]string{"./cmd/a", "./cmd/b", "."}, "", []string{"./cmd/a, ./cmd/b", "--pkg"}},
		{[]string{"./tools/b", "./examples/a"}, "", []string{"several main packages: ./examples/a, ./tools/b", "--pkg"}},
		{nil, "", []string{"no main package", "binary, build, publish and deploy need one", "--pkg", "lint and test do not"}},
	}
	for _, tt := range tests {
		got, err := MainPackage(tt.candidates)
		if tt.err != nil {
			if err == nil {
				t.Errorf("MainPackage(%q) = %q, want an error", tt.candidates, got)
				continue
			}
			for _, want := range tt.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("MainPackage(%q) err = %q, want it to say %q", tt.candidates, err, want)
				}
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("MainPackage(%q) = %q, %v; want %q", tt.candidates, got, err, tt.want)
		}
	}
}

// Callers tell a library (lint and test go on) from an ambiguous project.
func TestNoMainPackageIsDistinguishable(t *testing.T) {
	if _, err := MainPackage(nil); !errors.Is(err, ErrNoMainPackage) {
		t.Fatalf("no candidates: err = %v, want ErrNoMainPackage", err)
	}
	if _, err := MainPackage([]string{"./cmd/a", "./cmd/b"}); errors.Is(err, ErrNoMainPackage) {
		t.Fatalf("ambiguous: err = %v wraps ErrNoMainPackage", err)
	}
}

// The sample service: cmd/hello is what goship ships, named hello.
func TestHelloServiceMainPackage(t *testing.T) {
	fsys := os.DirFS("../../examples/hello-service")
	mains, err := MainPackages(fsys)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := MainPackage(mains)
	if err != nil || pkg != "./cmd/hello" {
		t.Fatalf("MainPackage(%q) = %q, %v; want ./cmd/hello", mains, pkg, err)
	}
	l, err := ReadLayout(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if name := AppName(pkg, l.ModulePath); name != "hello" {
		t.Fatalf("AppName = %q, want hello", name)
	}
}
