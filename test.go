package main

import (
	"context"
	"fmt"

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
	run := env.
		WithEnvVariable("CGO_ENABLED", "1"). // -race needs cgo; only tests get it
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
		if fails := report.Failures(); len(fails) > 0 {
			return out, report, fmt.Errorf("%s", ci.FailureSummary(fails))
		}
		stderr, _ := run.Stderr(ctx)
		return out, report, fmt.Errorf("go test failed (exit %d): %s", code, stderr)
	}
	return out, report, nil
}
