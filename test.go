package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goship-dev/goship/ci"
	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/gobuild"
)

// Test runs `go test -race` with atomic coverage and returns coverage.out,
// test.json and junit.xml. On failure the error names each failed test
// with its output.
// +check
func (g *Goship) Test(ctx context.Context) (*dagger.Directory, error) {
	dir, _, err := g.test(ctx)
	return dir, err
}

// test runs the tests and returns the parsed report too.
func (g *Goship) test(ctx context.Context) (*dagger.Directory, *ci.TestReport, error) {
	env, err := g.goEnv(ctx)
	if err != nil {
		return nil, nil, err
	}
	key, seen, err := g.testRun(ctx)
	if err != nil {
		return nil, nil, err
	}
	run := env.
		WithEnvVariable("CGO_ENABLED", "1"). // -race needs cgo; only tests get it
		WithEnvVariable("GOSHIP_TEST_RUN", key).
		// A mount, not a directory in the image: writing into the image
		// would first copy on top of its whole root filesystem.
		WithMountedDirectory("/out", dag.Directory()).
		WithExec([]string{"sh", "-c", gobuild.TestScript("/out/coverage.out", "/out/test.json")}, dagger.ContainerWithExecOpts{
			Expect: dagger.ReturnTypeAny,
		})
	code, err := run.ExitCode(ctx)
	if err != nil {
		return nil, nil, err
	}
	testJSON, err := run.File("/out/test.json").Contents(ctx)
	if err != nil {
		return nil, nil, err
	}
	report, err := ci.ParseTestJSON([]byte(testJSON))
	if err != nil {
		return nil, nil, err
	}
	junit, err := report.JUnit()
	if err != nil {
		return nil, nil, err
	}
	junitFile, err := moduleFile(ctx, "junit.xml", junit)
	if err != nil {
		return nil, nil, err
	}
	out := run.Directory("/out").WithFile("junit.xml", junitFile)
	if code != 0 {
		if err := g.recordFailure(ctx, seen); err != nil {
			return out, report, err
		}
		if fails := report.Failures(); len(fails) > 0 {
			return out, report, fmt.Errorf("%s", ci.FailureSummary(fails))
		}
		stderr, _ := run.Stderr(ctx)
		return out, report, fmt.Errorf("go test failed (exit %d): %s", code, stderr)
	}
	return out, report, nil
}

// testRun keys the test step's result: the CI attempt, whose calls
// share one run (reports, then ci), else the count of failed runs so far
// (see gobuild.ReadFailuresScript), so that no failure is handed back.
func (g *Goship) testRun(ctx context.Context) (string, int, error) {
	if g.Attempt != "" {
		return "attempt " + g.Attempt, -1, nil
	}
	out, err := g.failureLedger().
		WithExec([]string{"sh", "-c", gobuild.ReadFailuresScript(failureLedgerDir)}).
		Stdout(ctx)
	if err != nil {
		return "", 0, fmt.Errorf("reading the test failure ledger (cache volume %s-%s): %w", g.CacheNamespace, failureLedgerVolume, err)
	}
	seen, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return "", 0, fmt.Errorf("reading the test failure ledger: %q is not a count: %w", out, err)
	}
	return "after " + strconv.Itoa(seen) + " failed runs", seen, nil
}

// recordFailure moves the ledger past seen (-1: a run of an attempt,
// which keys its result by the attempt alone).
func (g *Goship) recordFailure(ctx context.Context, seen int) error {
	if seen < 0 {
		return nil
	}
	_, err := g.failureLedger().
		WithExec([]string{"sh", "-c", gobuild.RecordFailureScript(failureLedgerDir, seen)}).
		Sync(ctx)
	if err != nil {
		return fmt.Errorf("recording a failed test run in the ledger (cache volume %s-%s): %w", g.CacheNamespace, failureLedgerVolume, err)
	}
	return nil
}

const (
	failureLedgerVolume = "test-failures"
	failureLedgerDir    = "/ledger"
)

// failureLedger is a container with the ledger's volume that reads it
// anew on every call: its own result must never come from the cache. The
// volume is never seeded (--cache-from): a fresh engine has no failure to
// hand back.
func (g *Goship) failureLedger() *dagger.Container {
	return dag.Container().From(g.GoImage).
		WithMountedCache(failureLedgerDir, dag.CacheVolume(g.CacheNamespace+"-"+failureLedgerVolume)).
		WithEnvVariable("GOSHIP_NOW", time.Now().UTC().Format(time.RFC3339Nano))
}
