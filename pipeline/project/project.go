// Package project reads what goship needs to know about a Go project from
// its files: where the module sits (and its workspace), the Go version to
// build with, the main package to ship, the app's name and the repository's
// web URL.
package project

import (
	"fmt"
	"path"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// GoVersion is the Go version to build with, from go.mod: the toolchain
// line if there is one (go1.26.8 -> 1.26.8), else the go line (1.26).
func GoVersion(gomod []byte) (string, error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return "", fmt.Errorf("go.mod: %w", err)
	}
	return goVersion(f.Toolchain, f.Go, "go.mod")
}

// goVersion picks the version from the toolchain and go lines of file, a
// go.mod or go.work.
func goVersion(toolchain *modfile.Toolchain, goLine *modfile.Go, file string) (string, error) {
	if toolchain != nil {
		v := strings.TrimPrefix(toolchain.Name, "go")
		if semver.IsValid("v"+v) || semver.IsValid("v"+v+".0") {
			return v, nil
		}
	}
	if goLine == nil {
		return "", fmt.Errorf("%s has no go line: add one, e.g. `go 1.26`", file)
	}
	return goLine.Version, nil
}

// ModulePath is the module line of go.mod.
func ModulePath(gomod []byte) string { return modfile.ModulePath(gomod) }

// AppName is the default app name: the main package's directory name, or,
// for a root main package or a library (pkg ""), the last element of the
// module path without its major version suffix (example.com/svc/v2 -> svc).
func AppName(pkg, modulePath string) string {
	name := path.Base(path.Clean(pkg))
	if pkg == "" || name == "." || name == "/" {
		prefix, _, ok := module.SplitPathVersion(modulePath)
		if !ok {
			prefix = modulePath
		}
		name = path.Base(prefix)
	}
	return sanitize(name)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-_")
}
