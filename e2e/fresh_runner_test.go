//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFreshRunnerStartsWarm is issue 21's fresh CI runner, end to end, on
// engines that really start empty: runner A (a first run) loads goship
// and runs ci cold, exports goship's caches and archives its engine state
// (scripts/engine-state.sh); runner C starts a new engine from that
// archive and runs ci after a one-file change, with --cache-from=<the
// export>. What C did not start from empty is read from the engine's and
// goship's own outputs, not from wall time:
//   - the module load: goship is not compiled again; the container
//     commands that run (reading the type definitions) take a fraction of
//     the empty engine's, by the times the engine's progress output gives
//     each;
//   - the module download: C runs with GOPROXY=off, so the download of a
//     module with a dependency can only pass from the seed;
//   - the build: C's report has the unchanged packages' tests as
//     "(cached)".
//
// It stops the shared engine and starts two others (about 15 minutes
// idle), so it runs only when asked: GOSHIP_E2E_FRESH_RUNNER=1.
func TestFreshRunnerStartsWarm(t *testing.T) {
	if os.Getenv("GOSHIP_E2E_FRESH_RUNNER") != "1" {
		t.Skip("stops the shared engine for two fresh ones; run with GOSHIP_E2E_FRESH_RUNNER=1")
	}
	src := hello(t)
	addDependency(t, src)
	empty := t.TempDir()
	r := takeOverEngine(t)

	a := r.start("a", "")
	load := r.call(a, "", "functions", "--progress=plain", "-vvv")
	must(t, load, "module load on an empty engine")
	cold := readModuleLoad(load.out)
	t.Logf("module load on the empty engine A: %s", cold)
	if cold.ranFor < 10*time.Second {
		t.Fatalf("an empty engine's module load did not compile goship (%s): the engine did not start empty:\n%s", cold, tail(load.out, 4000))
	}
	must(t, r.call(a, src, "--goproxy=http://10.87.0.1:8765", "--scanners=secret", "--cache-from="+empty, "ci"), "cold ci on A")
	exported := filepath.Join(t.TempDir(), "caches")
	must(t, r.call(a, src, "--goproxy=http://10.87.0.1:8765", "--cache-from="+empty, "caches", "export", "--path="+exported, "--wipe"), "caches export on A")
	archive := t.TempDir()
	r.engineState(a, "save", archive)
	r.stop(a)

	c := r.start("c", archive)
	t.Logf("engine C: state restored in %s, started in %s", c.restored, c.started)
	load = r.call(c, "", "functions", "--progress=plain", "-vvv")
	must(t, load, "module load on the restored engine")
	restored := readModuleLoad(load.out)
	t.Logf("module load on the restored engine C: %s", restored)
	// Reading the type definitions runs again; compiling goship must not.
	if restored.ranFor > cold.ranFor/4 {
		t.Fatalf("the restored engine's module load ran %s, against %s on the empty engine: goship was compiled again:\n%s", restored, cold, tail(load.out, 4000))
	}

	writeFile(t, filepath.Join(src, "internal", "extra", "extra.go"), "// Package extra is a change A has not seen.\npackage extra\n\n// Answer is 42.\nconst Answer = 42\n")
	reports := t.TempDir()
	must(t, r.call(c, src, "--goproxy=off", "--scanners=secret", "--cache-from="+exported, "reports", "export", "--path="+reports), "ci on C")
	if failed, err := os.ReadFile(filepath.Join(reports, "FAILED")); err == nil {
		t.Fatalf("ci on the restored engine, GOPROXY=off, failed:\n%s", failed)
	}
	requireCachedTests(t, reports, "example.com/hello-service/internal/server", "example.com/hello-service/internal/fanout")
}

// requireCachedTests fails t unless the test report in reports has each
// package's result from the build cache.
func requireCachedTests(t *testing.T, reports string, pkgs ...string) {
	t.Helper()
	testJSON, err := os.ReadFile(filepath.Join(reports, "test", "test.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		if !bytes.Contains(testJSON, []byte(pkg+`\t(cached)`)) {
			t.Fatalf("the run did not take %s's test result from the build cache:\n%s", pkg, tail(string(testJSON), 3000))
		}
	}
}

// moduleLoad reads `dagger functions --progress=plain -vvv`: the module
// load's container commands (the Go SDK's codegen, compile and type
// definitions) that ran, with the time the engine reports for each, and
// those that were cache hits.
type moduleLoad struct {
	ran, cached int
	ranFor      time.Duration
}

func readModuleLoad(out string) moduleLoad {
	// Plain progress prints a span again as it goes on ("79  : …"): the
	// last line of each span counts.
	ran, cached := map[string]time.Duration{}, map[string]bool{}
	for _, l := range strings.Split(stripANSI(out), "\n") {
		span, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		span = strings.TrimSpace(span)
		switch {
		case strings.Contains(rest, "Container.withExec DONE ["):
			took := strings.TrimSuffix(strings.TrimSpace(rest[strings.LastIndex(rest, "[")+1:]), "]")
			d, _ := time.ParseDuration(took)
			ran[span] = d
		case strings.Contains(rest, "Container.withExec CACHED"):
			cached[span] = true
		}
	}
	m := moduleLoad{ran: len(ran), cached: len(cached)}
	for _, d := range ran {
		m.ranFor += d
	}
	return m
}

func (m moduleLoad) String() string {
	return fmt.Sprintf("%d container commands ran for %s, %d cache hits", m.ran, m.ranFor, m.cached)
}
