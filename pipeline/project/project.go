// Package project reads what goship needs to know about a Go project from
// its files: the Go version to build with, the main package to ship, and
// the app's name.
package project

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// GoVersion is the Go version to build with, from go.mod: the toolchain
// line if there is one (go1.26.8 -> 1.26.8), else the go line (1.26).
func GoVersion(gomod []byte) (string, error) {
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return "", fmt.Errorf("go.mod: %w", err)
	}
	if f.Toolchain != nil {
		v := strings.TrimPrefix(f.Toolchain.Name, "go")
		if semver.IsValid("v"+v) || semver.IsValid("v"+v+".0") {
			return v, nil
		}
	}
	if f.Go == nil {
		return "", fmt.Errorf("go.mod has no go line: add one, e.g. `go 1.26`")
	}
	return f.Go.Version, nil
}

// ModulePath is the module line of go.mod.
func ModulePath(gomod []byte) string { return modfile.ModulePath(gomod) }

// MainPackage picks the package to ship from the paths of the project's
// main.go files (relative, as a Glob of "**/main.go" returns them): the one
// under cmd/ when there is exactly one, else the root when it has one.
// Anything else is ambiguous and needs the pkg argument.
func MainPackage(mainFiles []string) (string, error) {
	var cmds []string
	root := false
	for _, f := range mainFiles {
		dir := path.Dir(path.Clean(f))
		switch {
		case dir == ".":
			root = true
		case strings.HasPrefix(dir, "cmd/") && strings.Count(dir, "/") == 1:
			cmds = append(cmds, "./"+dir)
		}
	}
	sort.Strings(cmds)
	switch {
	case len(cmds) == 1:
		return cmds[0], nil
	case len(cmds) > 1:
		return "", fmt.Errorf("several main packages: %s; choose one with --pkg", strings.Join(cmds, ", "))
	case root:
		return ".", nil
	}
	return "", fmt.Errorf("no main package found (looked for ./cmd/<app>/main.go and ./main.go); choose one with --pkg")
}

// AppName is the default app name: the main package's directory name, or
// the last element of the module path for a root main package.
func AppName(pkg, modulePath string) string {
	name := path.Base(path.Clean(pkg))
	if name == "." || name == "/" {
		name = path.Base(modulePath)
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
