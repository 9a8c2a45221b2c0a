package project

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func gomod(module string, extra ...string) string {
	return "module " + module + "\n\ngo 1.25\n" + strings.Join(extra, "\n") + "\n"
}

func TestReadLayout(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		dir   string
		want  Layout
	}{
		{
			name:  "single module",
			files: map[string]string{"go.mod": gomod("example.com/svc"), "go.sum": "", "main.go": "package main\n"},
			dir:   "",
			want:  Layout{Dir: ".", ModulePath: "example.com/svc", GoVersion: "1.25", DownloadFiles: []string{"go.mod", "go.sum"}},
		},
		{
			name:  "no go.sum yet",
			files: map[string]string{"go.mod": gomod("example.com/svc")},
			dir:   ".",
			want:  Layout{Dir: ".", ModulePath: "example.com/svc", GoVersion: "1.25", DownloadFiles: []string{"go.mod"}},
		},
		{
			name: "service in a subdirectory of a larger repository",
			files: map[string]string{
				"go.mod":                    gomod("example.com/tools"),
				"services/api/go.mod":       gomod("example.com/api", "toolchain go1.26.2"),
				"services/api/go.sum":       "",
				"services/web/package.json": "{}",
			},
			dir:  "./services/api/",
			want: Layout{Dir: "services/api", ModulePath: "example.com/api", GoVersion: "1.26.2", DownloadFiles: []string{"services/api/go.mod", "services/api/go.sum"}},
		},
		{
			name: "local replace inside the tree; versioned replace needs nothing",
			files: map[string]string{
				"services/api/go.mod": gomod("example.com/api", "replace example.com/lib => ../../libs/lib", "replace example.com/x => example.com/y v1.0.0"),
				"libs/lib/go.mod":     gomod("example.com/lib"),
				"libs/lib/go.sum":     "",
			},
			dir:  "services/api",
			want: Layout{Dir: "services/api", ModulePath: "example.com/api", GoVersion: "1.25", DownloadFiles: []string{"libs/lib/go.mod", "libs/lib/go.sum", "services/api/go.mod"}},
		},
		{
			name: "workspace at the root",
			files: map[string]string{
				"go.work":             "go 1.26.1\n\nuse (\n\t./services/api\n\t./libs/lib\n)\n\nreplace example.com/w => ./forks/w\n",
				"go.work.sum":         "",
				"services/api/go.mod": gomod("example.com/api", "replace example.com/r => ../../forks/r"),
				"libs/lib/go.mod":     gomod("example.com/lib"),
				"libs/lib/go.sum":     "",
				"forks/r/go.mod":      gomod("example.com/r"),
				"forks/w/go.mod":      gomod("example.com/w"),
				"forks/w/go.sum":      "",
			},
			dir: "services/api",
			want: Layout{Dir: "services/api", ModulePath: "example.com/api", GoVersion: "1.26.1", Workspace: true, WorkFile: "go.work", DownloadFiles: []string{
				"forks/r/go.mod", "forks/w/go.mod", "forks/w/go.sum", "go.work", "go.work.sum", "libs/lib/go.mod", "libs/lib/go.sum", "services/api/go.mod",
			}},
		},
		{
			name: "workspace toolchain line",
			files: map[string]string{
				"go.work": "go 1.25\n\ntoolchain go1.26.3\n\nuse .\n",
				"go.mod":  gomod("example.com/svc"),
			},
			want: Layout{Dir: ".", ModulePath: "example.com/svc", GoVersion: "1.26.3", Workspace: true, WorkFile: "go.work", DownloadFiles: []string{"go.mod", "go.work"}},
		},
		{
			name: "the nearest go.work applies",
			files: map[string]string{
				"go.work":              "go 1.25\n\nuse ./other\n",
				"other/go.mod":         gomod("example.com/other"),
				"services/api/go.work": "go 1.26\n\nuse .\n",
				"services/api/go.mod":  gomod("example.com/api"),
			},
			dir:  "services/api",
			want: Layout{Dir: "services/api", ModulePath: "example.com/api", GoVersion: "1.26", Workspace: true, WorkFile: "services/api/go.work", DownloadFiles: []string{"services/api/go.mod", "services/api/go.work"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadLayout(mapFS(tt.files), tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Dir != tt.want.Dir || got.ModulePath != tt.want.ModulePath || got.GoVersion != tt.want.GoVersion ||
				got.Workspace != tt.want.Workspace || got.WorkFile != tt.want.WorkFile || !slices.Equal(got.DownloadFiles, tt.want.DownloadFiles) {
				t.Fatalf("ReadLayout =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestReadLayoutRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		dir   string
		err   []string
	}{
		{"no go.mod at the root", map[string]string{"README.md": ""}, ".", []string{"no go.mod", "--source", "--dir"}},
		{"no go.mod in --dir", map[string]string{"go.mod": gomod("example.com/x")}, "services/api", []string{"--dir services/api has no go.mod"}},
		{"--dir above the source", map[string]string{"go.mod": gomod("example.com/x")}, "../x", []string{`--dir "../x"`, "relative to the source"}},
		{"absolute --dir", map[string]string{"go.mod": gomod("example.com/x")}, "/src", []string{`--dir "/src"`}},
		{"broken go.mod", map[string]string{"go.mod": "module\n"}, ".", []string{"go.mod"}},
		{"no go line", map[string]string{"go.mod": "module example.com/x\n"}, ".", []string{"go.mod has no go line"}},
		{
			"replace outside the tree",
			map[string]string{"go.mod": gomod("example.com/x", "replace example.com/lib => ../lib")},
			".",
			[]string{"go.mod: replace example.com/lib => ../lib", "outside the source", "--source"},
		},
		{
			"replace with an absolute path",
			map[string]string{"go.mod": gomod("example.com/x", "replace example.com/lib => /home/me/lib")},
			".",
			[]string{"replace example.com/lib => /home/me/lib", "outside the source"},
		},
		{
			"replace climbing out from a subdirectory",
			map[string]string{"svc/go.mod": gomod("example.com/x", "replace example.com/lib => ../../lib")},
			"svc",
			[]string{"svc/go.mod: replace example.com/lib => ../../lib", "outside the source"},
		},
		{
			"replace target without go.mod",
			map[string]string{"go.mod": gomod("example.com/x", "replace example.com/lib => ./lib"), "lib/lib.go": "package lib\n"},
			".",
			[]string{"replace example.com/lib => ./lib", "lib has no go.mod"},
		},
		{
			"workspace that does not use the module",
			map[string]string{"go.work": "go 1.25\n\nuse ./services/web\n", "services/web/go.mod": gomod("example.com/web"), "services/api/go.mod": gomod("example.com/api")},
			"services/api",
			[]string{"go.work applies to services/api but does not use it", "go work use ./services/api"},
		},
		{
			"workspace using a module outside the tree",
			map[string]string{"go.work": "go 1.25\n\nuse (\n\t.\n\t../shared\n)\n", "go.mod": gomod("example.com/x")},
			".",
			[]string{"go.work: use ../shared", "outside the source"},
		},
		{
			"workspace module without go.mod",
			map[string]string{"go.work": "go 1.25\n\nuse (\n\t.\n\t./gone\n)\n", "go.mod": gomod("example.com/x")},
			".",
			[]string{"go.work uses gone, which has no go.mod"},
		},
		{
			"workspace replace outside the tree",
			map[string]string{"go.work": "go 1.25\n\nuse .\n\nreplace example.com/lib => ../lib\n", "go.mod": gomod("example.com/x")},
			".",
			[]string{"go.work: replace example.com/lib => ../lib", "outside the source"},
		},
		{"broken go.work", map[string]string{"go.work": "use (\n", "go.mod": gomod("example.com/x")}, ".", []string{"go.work"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadLayout(mapFS(tt.files), tt.dir)
			if err == nil {
				t.Fatalf("ReadLayout = %+v, want an error", got)
			}
			for _, want := range tt.err {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to say %q", err, want)
				}
			}
		})
	}
}

// The go command is the reference: with only DownloadFiles copied out of
// the tree, it resolves the workspace's module graph; and it, too, refuses
// a module that the workspace does not use.
func TestReadLayoutDownloadFilesSufficeForGo(t *testing.T) {
	src := writeTree(t, map[string]string{
		"go.work":             "go 1.22\n\nuse (\n\t./services/api\n\t./libs/lib\n)\n",
		"services/api/go.mod": "module example.com/api\n\ngo 1.22\n\nrequire example.com/r v0.0.0\n\nreplace example.com/r => ../../forks/r\n",
		"services/api/api.go": "package main\n\nimport (\n\t_ \"example.com/lib\"\n\t_ \"example.com/r\"\n)\n\nfunc main() {}\n",
		"libs/lib/go.mod":     "module example.com/lib\n\ngo 1.22\n",
		"libs/lib/lib.go":     "package lib\n",
		"forks/r/go.mod":      "module example.com/r\n\ngo 1.22\n",
		"forks/r/r.go":        "package r\n",
		"services/web/go.mod": "module example.com/web\n\ngo 1.22\n",
		"services/web/web.go": "package web\n",
	})
	l, err := ReadLayout(os.DirFS(src), "services/api")
	if err != nil {
		t.Fatal(err)
	}
	only := copyFiles(t, src, l.DownloadFiles)
	goCmd := func(dir string, args ...string) (string, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=", "GOTOOLCHAIN=local", "GOWORK=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := goCmd(filepath.Join(only, "services", "api"), "mod", "download"); err != nil {
		t.Fatalf("go mod download with DownloadFiles %q only: %v\n%s", l.DownloadFiles, err, out)
	}
	out, err := goCmd(filepath.Join(only, "services", "api"), "list", "-m", "all")
	if err != nil || !strings.Contains(out, "example.com/lib\n") || !strings.Contains(out, "example.com/r v0.0.0 => ./forks/r") {
		t.Fatalf("go list -m all with DownloadFiles %q only: %v\n%s", l.DownloadFiles, err, out)
	}
	// The check can fail: without the replace target's go.mod, go cannot.
	fewer := slices.DeleteFunc(slices.Clone(l.DownloadFiles), func(f string) bool { return f == "forks/r/go.mod" })
	if out, err := goCmd(filepath.Join(copyFiles(t, src, fewer), "services", "api"), "mod", "download"); err == nil {
		t.Fatalf("go mod download succeeded without forks/r/go.mod:\n%s", out)
	}

	if _, err := ReadLayout(os.DirFS(src), "services/web"); err == nil {
		t.Fatal("ReadLayout accepted a module the workspace does not use")
	}
	if out, err := goCmd(filepath.Join(src, "services", "web"), "list", "./..."); err == nil || !strings.Contains(out, "modules listed in go.work") {
		t.Fatalf("go list in a module the workspace does not use: %v\n%s", err, out)
	}
}

// copyFiles copies files (relative to src) into a new directory.
func copyFiles(t *testing.T, src string, files []string) string {
	t.Helper()
	dst := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
