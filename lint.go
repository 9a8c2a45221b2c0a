package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/goship-dev/goship/ci"
	"github.com/goship-dev/goship/internal/dagger"
)

// Lint runs golangci-lint v2 with the project's .golangci.yml, then checks
// that go.mod and go.sum are tidy and verified.
// +check
func (g *Goship) Lint(ctx context.Context) error {
	_, err := g.lint(ctx)
	return err
}

// lint runs both checks and returns golangci-lint's findings too.
func (g *Goship) lint(ctx context.Context) ([]ci.LintIssue, error) {
	var issues []ci.LintIssue
	var lintErr, modErr error
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { issues, lintErr = g.golangciLint(ctx); return nil })
	eg.Go(func() error { modErr = g.modChecks(ctx); return nil })
	_ = eg.Wait()
	return issues, errors.Join(lintErr, modErr)
}

func (g *Goship) golangciLint(ctx context.Context) ([]ci.LintIssue, error) {
	run := g.goTool(dag.Container().From(g.LintImage)).
		WithMountedCache("/root/.cache/golangci-lint", g.cache("golangci")).
		WithMountedDirectory("/src", g.code()).
		WithExec([]string{"golangci-lint", "run", "--output.json.path=/tmp/lint.json", "--output.text.path=stderr", "./..."},
			dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := run.ExitCode(ctx)
	if err != nil {
		return nil, err
	}
	if code == 0 {
		return nil, nil
	}
	report, _ := run.File("/tmp/lint.json").Contents(ctx)
	if issues, perr := ci.ParseLintJSON([]byte(report)); perr == nil && len(issues) > 0 {
		return issues, fmt.Errorf("%s", ci.LintSummary(issues))
	}
	stderr, _ := run.Stderr(ctx)
	return nil, fmt.Errorf("golangci-lint failed (exit %d): %s", code, strings.TrimSpace(stderr))
}

// modChecks runs go mod verify and go mod tidy -diff. The verification
// reads only go.mod and go.sum, so it runs on the download step and stays
// cached while only source files change; tidy needs the source.
func (g *Goship) modChecks(ctx context.Context) error {
	deps, err := g.goDeps(ctx)
	if err != nil {
		return err
	}
	env, err := g.goEnv(ctx)
	if err != nil {
		return err
	}
	checks := []struct {
		c    *dagger.Container
		hint string
	}{
		{deps.WithExec([]string{"go", "mod", "verify"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}),
			"downloaded modules do not match go.sum (a tampered cache or proxy?)"},
		{env.WithExec([]string{"go", "mod", "tidy", "-diff"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}),
			"go.mod/go.sum are not tidy; run `go mod tidy`"},
	}
	var errs []error
	for _, check := range checks {
		code, err := check.c.ExitCode(ctx)
		if err != nil {
			return err
		}
		if code != 0 {
			out, _ := check.c.Stdout(ctx)
			stderr, _ := check.c.Stderr(ctx)
			errs = append(errs, fmt.Errorf("%s:\n%s%s", check.hint, out, stderr))
		}
	}
	return errors.Join(errs...)
}
