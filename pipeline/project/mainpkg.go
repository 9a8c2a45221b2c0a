package project

import (
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// ErrNoMainPackage means the module has no `package main`: a library.
// lint and test work without one; binary, build, publish and deploy don't.
var ErrNoMainPackage = errors.New("no main package")

// MainPackages lists the main packages of the Go module whose directory is
// the root of fsys, as the go tool sees them when building for linux/amd64
// without cgo: "." for the root, "./rel/dir" for the others, sorted.
// A package is main by its package clause, whatever its files are called;
// files excluded by build constraints (e.g. //go:build ignore) and _test.go
// files don't count. Like `./...`, it skips vendor, testdata, directories
// starting with '.' or '_', and nested modules (a directory with a go.mod).
func MainPackages(fsys fs.FS) ([]string, error) {
	ctxt := buildContext(fsys)
	var mains []string
	err := fs.WalkDir(fsys, ".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if dir != "." {
			name := d.Name()
			if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return fs.SkipDir
			}
			if _, err := fs.Stat(fsys, path.Join(dir, "go.mod")); err == nil {
				return fs.SkipDir
			}
		}
		if isMain(ctxt, dir) {
			mains = append(mains, relPkg(dir))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find main packages: %w", err)
	}
	slices.Sort(mains)
	return mains, nil
}

// isMain reports whether dir holds package main. A directory whose files
// disagree on the package name still counts when one of them says main:
// building it then shows the user the real error, where skipping it would
// only say "no main package".
func isMain(ctxt *build.Context, dir string) bool {
	p, err := ctxt.ImportDir(dir, 0)
	var multi *build.MultiplePackageError
	if errors.As(err, &multi) {
		return slices.Contains(multi.Packages, "main")
	}
	// Name comes from test and excluded files too: only a package with a
	// file that builds is one.
	return err == nil && p.Name == "main" && len(p.GoFiles) > 0
}

// buildContext is go/build reading fsys, for the platform goship builds
// by default, so build constraints select files as `go build` would.
func buildContext(fsys fs.FS) *build.Context {
	ctxt := build.Default
	ctxt.GOOS, ctxt.GOARCH, ctxt.CgoEnabled = "linux", "amd64", false
	// No GOROOT or GOPATH: only local directories of fsys are imported,
	// and the host's trees must not leak in.
	ctxt.GOROOT, ctxt.GOPATH, ctxt.Dir = "", "", ""
	ctxt.JoinPath = func(elem ...string) string { return path.Join(elem...) }
	ctxt.IsAbsPath = path.IsAbs
	ctxt.IsDir = func(p string) bool {
		fi, err := fs.Stat(fsys, p)
		return err == nil && fi.IsDir()
	}
	ctxt.HasSubdir = func(root, dir string) (string, bool) {
		rel, ok := strings.CutPrefix(dir, root+"/")
		return rel, ok
	}
	ctxt.ReadDir = func(dir string) ([]fs.FileInfo, error) {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, err
		}
		infos := make([]fs.FileInfo, 0, len(entries))
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil {
				return nil, err
			}
			infos = append(infos, fi)
		}
		return infos, nil
	}
	ctxt.OpenFile = func(p string) (io.ReadCloser, error) { return fsys.Open(p) }
	return &ctxt
}

// relPkg turns a slash path relative to the module root into a package
// pattern the go tool takes: "." or "./dir".
func relPkg(dir string) string {
	dir = path.Clean(strings.TrimPrefix(dir, "./"))
	if dir == "." {
		return "."
	}
	return "./" + dir
}

// MainPackage picks the package to ship from the module's main packages
// (as MainPackages lists them):
//   - ./cmd/<x> when exactly one main package sits directly under cmd/;
//   - several there: ambiguous, the user chooses with --pkg;
//   - none there: the root when it is main, else the only main package;
//   - several elsewhere: ambiguous;
//   - none at all: an error wrapping ErrNoMainPackage.
func MainPackage(candidates []string) (string, error) {
	var cmds, all []string
	root := false
	for _, c := range candidates {
		pkg := relPkg(c)
		all = append(all, pkg)
		switch {
		case pkg == ".":
			root = true
		case strings.HasPrefix(pkg, "./cmd/") && strings.Count(pkg, "/") == 2:
			cmds = append(cmds, pkg)
		}
	}
	slices.Sort(cmds)
	slices.Sort(all)
	switch {
	case len(cmds) == 1:
		return cmds[0], nil
	case len(cmds) > 1:
		return "", fmt.Errorf("several main packages under cmd/: %s; choose one with --pkg", strings.Join(cmds, ", "))
	case root:
		return ".", nil
	case len(all) == 1:
		return all[0], nil
	case len(all) > 1:
		return "", fmt.Errorf("several main packages: %s; choose one with --pkg", strings.Join(all, ", "))
	}
	return "", fmt.Errorf("%w: no directory of the module has `package main`; binary, build, publish and deploy need one (choose it with --pkg), lint and test do not", ErrNoMainPackage)
}
