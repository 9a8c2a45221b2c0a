package project

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// Layout is where the Go module to ship sits in the source tree, and what
// of the tree its module download needs.
type Layout struct {
	// Dir is the module's directory in the source, "." for the root.
	Dir string
	// ModulePath is the module line of Dir/go.mod.
	ModulePath string
	// GoVersion to build with: the go.work's toolchain or go line when a
	// workspace applies (the go command picks its toolchain from there),
	// else go.mod's.
	GoVersion string
	// Workspace is true when a go.work applies to the module.
	Workspace bool
	// WorkFile is that go.work, relative to the source root; "" without one.
	WorkFile string
	// DownloadFiles are the files `go mod download` in Dir reads, relative
	// to the source root, sorted: the go.mod and go.sum of the module, of
	// every workspace module and of every local replace target, plus
	// go.work and go.work.sum. Mounting only these keeps the download
	// cached until dependencies change.
	DownloadFiles []string
}

// ReadLayout finds the Go module in directory dir ("" or "." for the root)
// of the source tree fsys, and the go.work that applies to it, the way the
// go command does: the nearest go.work in dir or above it.
// Local directories a build needs (workspace modules, replace targets)
// must be inside the tree: a container sees nothing else.
func ReadLayout(fsys fs.FS, dir string) (Layout, error) {
	dir = path.Clean(strings.TrimPrefix(dir, "./"))
	if !fs.ValidPath(dir) {
		return Layout{}, fmt.Errorf("--dir %q: give the Go module's directory relative to the source, e.g. services/api", dir)
	}
	mod, err := readModFile(fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		if dir == "." {
			return Layout{}, fmt.Errorf("the source has no go.mod: pass the Go project as --source, or its module's directory inside it as --dir (e.g. --dir=services/api)")
		}
		return Layout{}, fmt.Errorf("--dir %s has no go.mod: --dir is the Go module's directory inside the source", dir)
	}
	if err != nil {
		return Layout{}, err
	}
	if mod.Module == nil {
		return Layout{}, fmt.Errorf("%s has no module line", path.Join(dir, "go.mod"))
	}
	l := Layout{Dir: dir, ModulePath: mod.Module.Mod.Path}
	if l.GoVersion, err = goVersion(mod.Toolchain, mod.Go, path.Join(dir, "go.mod")); err != nil {
		return Layout{}, err
	}
	files := newFileSet(fsys)
	files.module(dir)

	work, err := findWork(fsys, dir)
	if err != nil {
		return Layout{}, err
	}
	if work == "" {
		if err := files.replaces(dir, path.Join(dir, "go.mod"), mod.Replace); err != nil {
			return Layout{}, err
		}
		l.DownloadFiles = files.sorted()
		return l, nil
	}

	l.Workspace, l.WorkFile = true, work
	data, err := fs.ReadFile(fsys, work)
	if err != nil {
		return Layout{}, fmt.Errorf("read %s: %w", work, err)
	}
	wf, err := modfile.ParseWork(work, data, nil)
	if err != nil {
		return Layout{}, fmt.Errorf("%s: %w", work, err)
	}
	if wf.Go != nil || wf.Toolchain != nil {
		if l.GoVersion, err = goVersion(wf.Toolchain, wf.Go, work); err != nil {
			return Layout{}, err
		}
	}
	workDir := path.Dir(work)
	files.add(work)
	files.optional(path.Join(workDir, "go.work.sum"))
	var uses []string
	for _, u := range wf.Use {
		m, err := inside(workDir, u.Path)
		if err != nil {
			return Layout{}, fmt.Errorf("%s: use %s: %s %w", work, u.Path, u.Path, err)
		}
		uses = append(uses, m)
	}
	if !slices.Contains(uses, dir) {
		return Layout{}, fmt.Errorf("%s applies to %s but does not use it: run `go work use %s` next to %s", work, dir, relUse(workDir, dir), work)
	}
	for _, m := range uses {
		mf, err := readModFile(fsys, m)
		if errors.Is(err, fs.ErrNotExist) {
			return Layout{}, fmt.Errorf("%s uses %s, which has no go.mod", work, m)
		}
		if err != nil {
			return Layout{}, err
		}
		files.module(m)
		if err := files.replaces(m, path.Join(m, "go.mod"), mf.Replace); err != nil {
			return Layout{}, err
		}
	}
	if err := files.replaces(workDir, work, wf.Replace); err != nil {
		return Layout{}, err
	}
	l.DownloadFiles = files.sorted()
	return l, nil
}

// findWork is the nearest go.work in dir or a parent, up to the root.
func findWork(fsys fs.FS, dir string) (string, error) {
	for d := dir; ; d = path.Dir(d) {
		p := path.Join(d, "go.work")
		_, err := fs.Stat(fsys, p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("look for go.work: %w", err)
		}
		if d == "." {
			return "", nil
		}
	}
}

func readModFile(fsys fs.FS, dir string) (*modfile.File, error) {
	p := path.Join(dir, "go.mod")
	data, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	f, err := modfile.Parse(p, data, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return f, nil
}

// inside resolves rel (a path in a go.mod or go.work, relative to base)
// to a path in the source tree, or says that it is not in it.
func inside(base, rel string) (string, error) {
	rel = strings.ReplaceAll(rel, `\`, "/")
	p := path.Join(base, rel)
	if path.IsAbs(rel) || p == ".." || strings.HasPrefix(p, "../") {
		return "", errOutside
	}
	return p, nil
}

var errOutside = errors.New("is outside the source, and a container build sees only the source: move that module into it, or pass a larger --source and the module's --dir")

// relUse is dir as a `go work use` argument from workDir.
func relUse(workDir, dir string) string {
	if workDir == "." {
		return "./" + dir
	}
	return "./" + strings.TrimPrefix(dir, workDir+"/")
}

// fileSet collects DownloadFiles.
type fileSet struct {
	fsys  fs.FS
	files map[string]bool
}

func newFileSet(fsys fs.FS) *fileSet { return &fileSet{fsys: fsys, files: map[string]bool{}} }

func (s *fileSet) add(p string) { s.files[p] = true }

func (s *fileSet) optional(p string) {
	if _, err := fs.Stat(s.fsys, p); err == nil {
		s.add(p)
	}
}

// module adds a module directory's go.mod and, when there is one, go.sum.
func (s *fileSet) module(dir string) {
	s.add(path.Join(dir, "go.mod"))
	s.optional(path.Join(dir, "go.sum"))
}

// replaces adds the modules that the directory replacements of file (whose
// directory is base) point at. A replacement with a version is a module
// from the proxy and needs nothing from the tree.
func (s *fileSet) replaces(base, file string, reps []*modfile.Replace) error {
	for _, r := range reps {
		if r.New.Version != "" {
			continue
		}
		target, err := inside(base, r.New.Path)
		if err != nil {
			return fmt.Errorf("%s: replace %s => %s: %s %w", file, r.Old.Path, r.New.Path, r.New.Path, err)
		}
		if _, err := fs.Stat(s.fsys, path.Join(target, "go.mod")); err != nil {
			return fmt.Errorf("%s: replace %s => %s: %s has no go.mod", file, r.Old.Path, r.New.Path, target)
		}
		s.module(target)
	}
	return nil
}

func (s *fileSet) sorted() []string {
	out := make([]string, 0, len(s.files))
	for f := range s.files {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}
