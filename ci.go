package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/goship-dev/goship/ci"
	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/project"
)

// Ci runs lint, test, build and scan in parallel and fails if any of them
// fails, naming every failure, not only the first. It returns test/
// (junit.xml, coverage.out, test.json), scan/ (trivy.json, summary.md),
// summary.md for the job summary and annotations.txt (GitHub ::error
// lines); reports returns SARIF and CycloneDX as well.
// +check
func (g *Goship) Ci(
	ctx context.Context,
	// Where the source lives in the repository (e.g. examples/hello-service), so annotations name repository paths.
	// +optional
	repoPath string,
	// Module reference for the reproduce command in the summary (e.g. github.com/goship-dev/goship@v1.0.0).
	// +optional
	module string,
) (*dagger.Directory, error) {
	run, err := g.runAll(ctx, repoPath, module, false)
	if err != nil {
		return nil, err
	}
	if run.failed != "" {
		return run.reports, fmt.Errorf("%s", run.failed)
	}
	return run.reports, nil
}

// Reports runs what ci runs and returns its reports without failing, so
// CI can upload them before ci itself fails the job (a failed function
// returns no directory). A FAILED file lists what failed; the reruns ci
// does are cache hits when both calls name the same --attempt. Its result
// is kept for one session only: it holds failures too, and a later call
// must run a failed test step again, not return those reports.
// +cache="session"
func (g *Goship) Reports(
	ctx context.Context,
	// Where the source lives in the repository, so annotations name repository paths.
	// +optional
	repoPath string,
	// Module reference for the reproduce command in the summary.
	// +optional
	module string,
) (*dagger.Directory, error) {
	run, err := g.runAll(ctx, repoPath, module, true)
	if err != nil {
		return nil, err
	}
	return run.reports, nil
}

// ciRun is what one ci run found: its reports, every step's outcome, and
// what failed ("" when nothing did; the same text is in the reports'
// FAILED file).
type ciRun struct {
	reports *dagger.Directory
	steps   []ci.Step
	failed  string
}

// runAll runs lint, test, build and scan (of every platform) in
// parallel and gathers their reports. With materialize, every report
// format is produced, now (so a failed step still leaves its files);
// without, only what the gate needs.
func (g *Goship) runAll(ctx context.Context, repoPath, module string, materialize bool) (*ciRun, error) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		reports = dag.Directory()
		sum     ci.Summary
	)
	step := func(name, dirName string, fn func(context.Context) (*dagger.Directory, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir, err := fn(ctx)
			if dir != nil && materialize {
				// Materialize now, so a failed step still leaves its reports.
				if _, serr := dir.Sync(ctx); serr != nil {
					dir = nil
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if dir != nil {
				reports = reports.WithDirectory(dirName, dir)
			}
			sum.Steps = append(sum.Steps, ci.Step{Name: name, Err: err})
		}()
	}
	step("lint", "lint", func(ctx context.Context) (*dagger.Directory, error) {
		issues, err := g.lint(ctx)
		mu.Lock()
		sum.Lint = issues
		mu.Unlock()
		return nil, err
	})
	step("test", "test", func(ctx context.Context) (*dagger.Directory, error) {
		dir, report, err := g.test(ctx)
		if report != nil {
			counts := report.Counts()
			mu.Lock()
			sum.Tests, sum.TestFailures = &counts, report.Failures()
			mu.Unlock()
		}
		return dir, err
	})
	step("build", "build", func(ctx context.Context) (*dagger.Directory, error) {
		if g.isLibrary(ctx) {
			return nil, nil // a library: nothing to build
		}
		variants, err := g.platformImages(ctx)
		for _, c := range variants {
			if err == nil {
				_, err = c.Sync(ctx)
			}
		}
		return nil, err
	})
	// Every platform is scanned and gated: a signature covers the whole
	// index, so each image in it must have passed.
	for _, p := range g.scanPlatforms(ctx) {
		step(scanStep(p, len(g.Platforms)), scanDir(p, len(g.Platforms)), func(ctx context.Context) (*dagger.Directory, error) {
			return g.scan(ctx, g.defaultScanPolicy(), materialize, p)
		})
	}
	wg.Wait()
	// Named only now: lint and test need no main package, so they start
	// without waiting for it to be found.
	app, err := g.appName(ctx)
	if err != nil {
		sum.Steps = append(sum.Steps, ci.Step{Name: "app name", Err: err})
		app = project.AppName("", g.ModulePath)
	}
	sum.App = app

	var args []string
	if repoPath != "" {
		args = append(args, "--repo-path="+repoPath)
	}
	if module != "" {
		args = append(args, "--module="+module)
	}
	sum.Reproduce = ci.Reproduce(g.replay(module, repoPath, "ci", args))
	reports = reports.
		WithNewFile("summary.md", sum.Markdown()).
		WithNewFile("annotations.txt", ci.Annotations(repoPath, g.ModulePath, sum.Lint, sum.TestFailures))
	run := &ciRun{reports: reports, steps: ci.SortSteps(sum.Steps)}
	var errs []error
	for _, s := range run.steps {
		if s.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, s.Err))
		}
	}
	if len(errs) == 0 {
		return run, nil
	}
	run.failed = fmt.Sprintf("ci failed in %d step(s):\n%v\n\nreproduce locally:\n%s", len(errs), errors.Join(errs...), sum.Reproduce)
	run.reports = reports.WithNewFile("FAILED", run.failed)
	return run, nil
}

// isLibrary reports whether the project has no main package to build
// (and no Dockerfile).
func (g *Goship) isLibrary(ctx context.Context) bool {
	_, err := g.mainPkg(ctx)
	return errors.Is(err, project.ErrNoMainPackage) && g.Dockerfile == ""
}

// scanPlatforms are the platforms whose images are scanned: every one,
// or for a library (whose source is scanned) the first.
func (g *Goship) scanPlatforms(ctx context.Context) []string {
	if g.isLibrary(ctx) {
		return g.Platforms[:1]
	}
	return g.Platforms
}

// scanStep names the scan of platform p in ci's steps: "scan" when it is
// the only one.
func scanStep(p string, platforms int) string {
	if platforms == 1 {
		return "scan"
	}
	return "scan " + p
}

// scanDir is where the scan of p leaves its reports.
func scanDir(p string, platforms int) string {
	if platforms == 1 {
		return "scan"
	}
	return "scan/" + strings.ReplaceAll(p, "/", "-")
}

// Reproduce prints the command that re-runs a call on a laptop: the same
// commit (when there is a real one), module, source, constructor
// arguments and function arguments. CI prints it on failure.
func (g *Goship) Reproduce(
	// The function that ran, e.g. ci or publish.
	verb string,
	// Its arguments, as given on the command line (secrets stay env:// or file:// URIs).
	// +optional
	args string,
	// Module reference as given to -m, e.g. github.com/acme/goship@v1.0.0.
	// +optional
	module string,
	// Source path in the repository.
	// +optional
	// +default="."
	source string,
) string {
	return ci.Reproduce(g.replay(module, source, verb, strings.Fields(args)))
}

// replay is what a reproduce command repeats of this call.
func (g *Goship) replay(module, source, verb string, args []string) ci.Replay {
	return ci.Replay{SHA: g.Sha, Module: module, Source: source, ConstructorArgs: g.CallArgs, Verb: verb, VerbArgs: args}
}
