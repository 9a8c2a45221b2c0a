// Package gobuild decides how a Go service is compiled: the go build argv,
// the linker flags that stamp version, commit and date, and the environment
// for a static, reproducible binary.
package gobuild

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// Stamp is what gets written into the binary at link time.
type Stamp struct {
	Version string
	Commit  string
	// Date is RFC 3339 UTC. Callers pass the commit time rather than "now"
	// so that rebuilding the same commit yields the same binary.
	Date string
}

// DefaultVars are the -X targets used when the project names none. They
// follow the convention most Go release tooling uses (main.version, …);
// -X on a symbol that does not exist is ignored by the linker, so the
// defaults are harmless for projects that do not declare them.
func DefaultVars() []string {
	return []string{
		"main.version={{version}}",
		"main.commit={{commit}}",
		"main.date={{date}}",
	}
}

var symbolRE = regexp.MustCompile(`^[A-Za-z0-9_./~-]+\.[A-Za-z_][A-Za-z0-9_]*$`)

// LDFlags renders "-s -w -X …" for the given stamp. Each var is
// "importpath.Name=template" where the template may use {{version}},
// {{commit}} and {{date}}.
func LDFlags(stamp Stamp, vars []string) (string, error) {
	if len(vars) == 0 {
		vars = DefaultVars()
	}
	parts := []string{"-s", "-w"}
	for _, v := range vars {
		sym, tmpl, ok := strings.Cut(v, "=")
		if !ok || !symbolRE.MatchString(sym) {
			return "", fmt.Errorf("link var %q: want importpath.Name=value, e.g. main.version={{version}}", v)
		}
		val := strings.NewReplacer(
			"{{version}}", stamp.Version,
			"{{commit}}", stamp.Commit,
			"{{date}}", stamp.Date,
		).Replace(tmpl)
		if strings.ContainsAny(val, " \t\n'\"") {
			return "", fmt.Errorf("link var %s: value %q contains spaces or quotes", sym, val)
		}
		parts = append(parts, "-X", sym+"="+val)
	}
	return strings.Join(parts, " "), nil
}

// Target is one GOOS/GOARCH pair.
type Target struct {
	OS, Arch string
}

// ParsePlatform reads "linux/amd64" (an optional "/v8"-style variant is
// accepted and ignored for GOARCH purposes, except arm's GOARM).
func ParsePlatform(p string) (Target, error) {
	parts := strings.Split(p, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return Target{}, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", p)
	}
	return Target{OS: parts[0], Arch: parts[1]}, nil
}

// Env is the environment for a static build for t: cgo off, so the binary
// runs on an empty base image.
func Env(t Target) map[string]string {
	env := map[string]string{"CGO_ENABLED": "0"}
	if t.OS != "" {
		env["GOOS"] = t.OS
	}
	if t.Arch != "" {
		env["GOARCH"] = t.Arch
	}
	return env
}

// SortedEnv renders env as KEY=VALUE lines in a stable order (stable order
// keeps cache keys stable).
func SortedEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// BuildArgs is the go build argv for pkg, written to output.
func BuildArgs(pkg, output, ldflags string) []string {
	return []string{"go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", output, pkg}
}

// TestArgs is the go test argv: race detector, atomic coverage, JSON events.
func TestArgs(coverprofile string, pkgs ...string) []string {
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	args := []string{"go", "test", "-race", "-covermode=atomic", "-coverprofile=" + coverprofile, "-json"}
	return append(args, pkgs...)
}

// TestScript is a shell command that runs TestArgs with its JSON events
// written to jsonOut by the shell: output the engine never sees is output
// it never turns into log records (a cached run of a large suite replays
// megabytes of events, which went through the engine's telemetry when
// the engine redirected stdout itself).
func TestScript(coverprofile, jsonOut string, pkgs ...string) string {
	return "exec " + shellescape.QuoteCommand(TestArgs(coverprofile, pkgs...)) + " > " + shellescape.Quote(jsonOut)
}

// FormatDate renders t the way Stamp.Date expects.
func FormatDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// DefaultPlatforms are the platforms built when none is named.
func DefaultPlatforms() []string { return []string{"linux/amd64"} }
