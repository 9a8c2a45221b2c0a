//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// BenchmarkCi compares goship's ci with the same checks run natively on
// this machine, in one run, on the same tree (needs the engine), for the
// sample service and for a real-world one (go-httpbin, e2e/testdata):
//
//	go test -tags e2e -run '^$' -bench Ci -benchtime 1x -timeout 60m ./e2e/
//
// Native is what a developer would type: golangci-lint run ./...; go test
// -race -coverprofile ./... && CGO_ENABLED=0 go build -trimpath -ldflags
// "-s -w". Cases, three repetitions each, medians reported:
//   - warm: nothing changed since the last run;
//   - one file: a new exported constant in one package (measured in both
//     orders, goship first and native first, so neither gains from the
//     other's work: medians of 6);
//   - cold: goship with fresh cache volumes (--cache-namespace) and no
//     cached results, native with empty GOCACHE and lint cache (modules
//     stay downloaded on both sides).
//
// GOSHIP_BENCH_SOURCE names another Go project to measure instead.
func BenchmarkCi(b *testing.B) {
	root := testworld.RepoRoot(b)
	projects := []string{filepath.Join(root, "examples", "hello-service"), realWorldService(b)}
	if origin := os.Getenv("GOSHIP_BENCH_SOURCE"); origin != "" {
		projects = []string{origin}
	}
	// Users run goship's default images, pinned by digest, which the
	// engine never resolves. Tag-only overrides cost a registry round trip
	// per image per call, so the benchmark pins them too.
	b.Setenv("GOSHIP_E2E_ARGS", strings.Join(pinnedEngineArgs(b), " "))
	for _, origin := range projects {
		b.Run(filepath.Base(origin), func(b *testing.B) { benchCi(b, origin) })
	}
}

// pinnedEngineArgs is engineArgs with each --*-image=name:tag pinned to
// the digest the engine's Docker Hub mirror serves for it
// (GOSHIP_E2E_MIRROR, default the local kit's 127.0.0.1:5000).
func pinnedEngineArgs(b testing.TB) []string {
	mirror := os.Getenv("GOSHIP_E2E_MIRROR")
	if mirror == "" {
		mirror = "127.0.0.1:5000"
	}
	args := engineArgs()
	for i, a := range args {
		flag, ref, ok := strings.Cut(a, "=")
		if !ok || !strings.HasSuffix(flag, "-image") || strings.Contains(ref, "@") {
			continue
		}
		repo := ref
		if !strings.Contains(strings.Split(ref, ":")[0], "/") {
			repo = "library/" + ref
		}
		tag, err := name.NewTag(mirror+"/"+repo, name.Insecure)
		if err != nil {
			b.Fatal(err)
		}
		desc, err := remote.Head(tag)
		if err != nil {
			b.Fatalf("pin %s through the mirror %s: %v", ref, mirror, err)
		}
		args[i] = flag + "=" + ref + "@" + desc.Digest.String()
	}
	return args
}

func benchCi(b *testing.B, origin string) {
	src := filepath.Join(b.TempDir(), "src")
	if out, err := exec.Command("cp", "-r", origin, src).CombinedOutput(); err != nil {
		b.Fatalf("copy: %v %s", err, out)
	}
	edited := editTarget(b, src)
	lint := testworld.Tool(b, "golangci-lint")
	namespace := fmt.Sprintf("bench%d", time.Now().UnixNano())
	caches := b.TempDir()

	ci := func(ns string) time.Duration {
		r := goship(b, src, nil, "--scanners=secret", "--cache-namespace="+ns, "ci")
		if flakedInUpstreamTests(r) {
			b.Logf("a timing-sensitive test of the project failed under load; measured once more:\n%s", tail(r.out, 1500))
			r = goship(b, src, nil, "--scanners=secret", "--cache-namespace="+ns, "ci")
		}
		if r.err != nil {
			b.Fatalf("goship ci: %v\n%s", r.err, tail(r.out, 3000))
		}
		return r.took
	}
	// native runs with the caches in dir: a fresh dir is a cold run, the
	// same dir again a warm one, as goship's namespaces are.
	native := func(dir string) time.Duration {
		env := append(os.Environ(), "GOCACHE="+filepath.Join(dir, "go"), "GOLANGCI_LINT_CACHE="+filepath.Join(dir, "lint"))
		script := lint + ` run ./... && go test -race -covermode=atomic -coverprofile=` + filepath.Join(caches, "cover.out") +
			` ./... >/dev/null && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o ` + filepath.Join(caches, "bin") + ` ` + mainPackage(src)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", script)
		cmd.Dir, cmd.Env = src, env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			if !strings.Contains(string(out), "--- FAIL") {
				b.Fatalf("native: %v\n%s", err, out)
			}
			// The same timing-sensitive tests, natively: measured once more.
			b.Logf("native: a test failed under load; measured once more:\n%s", tail(string(out), 1500))
			cmd = exec.CommandContext(ctx, "sh", "-c", script)
			cmd.Dir, cmd.Env = src, env
			start = time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("native: %v\n%s", err, out)
			}
		}
		return time.Since(start)
	}
	edit := func() {
		f, err := os.OpenFile(edited, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		n := time.Now().UnixNano()
		_, _ = fmt.Fprintf(f, "\n// Edit%d is a benchmark edit.\nconst Edit%d = %d\n", n, n, n)
		_ = f.Close()
	}

	type row struct{ goship, native []time.Duration }
	rows := map[string]*row{"cold": {}, "warm, no change": {}, "one file changed": {}}
	for i := 0; i < 3; i++ {
		ns := fmt.Sprintf("%s-%d", namespace, i)
		dir := filepath.Join(caches, ns)
		edit() // a tree neither side has seen: nothing cached
		rows["cold"].goship = append(rows["cold"].goship, ci(ns))
		rows["cold"].native = append(rows["cold"].native, native(dir))
		rows["warm, no change"].goship = append(rows["warm, no change"].goship, ci(ns))
		rows["warm, no change"].native = append(rows["warm, no change"].native, native(dir))
		edit()
		rows["one file changed"].goship = append(rows["one file changed"].goship, ci(ns))
		rows["one file changed"].native = append(rows["one file changed"].native, native(dir))
		_ = native(dir) // both sides have seen the edit before the next one
		_ = ci(ns)
		edit()
		rows["one file changed"].native = append(rows["one file changed"].native, native(dir))
		rows["one file changed"].goship = append(rows["one file changed"].goship, ci(ns))
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\nci on %s (medians of 3, one run)\n| case | goship ci | native | ratio |\n|---|---|---|---|\n", filepath.Base(origin))
	for _, name := range []string{"warm, no change", "one file changed", "cold"} {
		g, n := median(rows[name].goship), median(rows[name].native)
		fmt.Fprintf(&table, "| %s | %.2f s | %.2f s | %.2f× |\n", name, g.Seconds(), n.Seconds(), g.Seconds()/n.Seconds())
		b.ReportMetric(g.Seconds()/n.Seconds(), strings.ReplaceAll(strings.ReplaceAll(name, ",", ""), " ", "-")+"-ratio")
	}
	for _, name := range []string{"warm, no change", "one file changed", "cold"} {
		fmt.Fprintf(&table, "%s, every run: goship %v, native %v\n", name, rounded(rows[name].goship), rounded(rows[name].native))
	}
	b.Log(table.String())
	fmt.Print(table.String())
}

// editTarget is the file the benchmark edits: the first non-test Go file
// of a package that is not main, else any Go file.
func editTarget(b testing.TB, src string) string {
	b.Helper()
	var files []string
	_ = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if !strings.Contains(string(data), "package main\n") {
			return f
		}
	}
	if len(files) == 0 {
		b.Fatal("no Go file to edit")
	}
	return files[0]
}

// mainPackage is ./cmd/<x> when there is one, else ".".
func mainPackage(src string) string {
	if m, _ := filepath.Glob(filepath.Join(src, "cmd", "*", "*.go")); len(m) > 0 {
		return "./cmd/" + filepath.Base(filepath.Dir(m[0]))
	}
	return "."
}

// rounded is ds to the 10 ms, for the log.
func rounded(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(10 * time.Millisecond)
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
