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

// lint runs golangci-lint and the module checks and returns
// golangci-lint's findings too. go mod tidy -diff needs the source, like
// golangci-lint, so it runs in the same container, beside it: one
// container less per source change. go mod verify reads only go.mod and
// go.sum, so it runs on the download step and stays cached while only
// sources change.
func (g *Goship) lint(ctx context.Context) ([]ci.LintIssue, error) {
	var issues []ci.LintIssue
	var lintErr, verifyErr error
	eg, ctx := errgroup.WithContext(ctx)
	eg.Go(func() error { issues, lintErr = g.golangciLint(ctx); return nil })
	eg.Go(func() error { verifyErr = g.modVerify(ctx); return nil })
	_ = eg.Wait()
	return issues, errors.Join(lintErr, verifyErr)
}

// lintScript runs golangci-lint and, beside it, go mod tidy -diff (a
// few reads of go.mod and the imports, off golangci-lint's path),
// recording each one's exit code and output for goship to read.
const lintScript = `go mod tidy -diff > /lint/tidy.out 2>&1 &
tidy=$!
golangci-lint run --output.json.path=/lint/lint.json --output.text.path=/lint/lint.txt ./... 2>/lint/lint.err
echo $? > /lint/lint.rc
wait $tidy
echo $? > /lint/tidy.rc`

func (g *Goship) golangciLint(ctx context.Context) ([]ci.LintIssue, error) {
	script := lintScript
	if g.Workspace {
		// go mod tidy ignores go.work, so a module that requires a sibling
		// of its workspace can never be tidy on its own: no tidy check.
		script = strings.Replace(script, "go mod tidy -diff > /lint/tidy.out 2>&1", "true", 1)
	}
	run := withToolGC(g.goTool(dag.Container().From(g.LintImage))).
		WithMountedCache("/root/.cache/golangci-lint", g.cache("golangci")).
		WithEnvVariable("GOLANGCI_LINT_CACHE", "/root/.cache/golangci-lint").
		WithMountedDirectory("/src", g.code()).
		WithMountedDirectory("/lint", dag.Directory()).
		WithExec([]string{"sh", "-c", script})
	read := func(path string) string {
		s, _ := run.File(path).Contents(ctx)
		return strings.TrimSpace(s)
	}
	if _, err := run.Sync(ctx); err != nil {
		return nil, err
	}
	var errs []error
	var issues []ci.LintIssue
	if code := read("/lint/lint.rc"); code != "0" {
		var err error
		issues, err = ci.ParseLintJSON([]byte(read("/lint/lint.json")))
		if err == nil && len(issues) > 0 {
			errs = append(errs, fmt.Errorf("%s", ci.LintSummary(issues)))
		} else {
			errs = append(errs, fmt.Errorf("golangci-lint failed (exit %s): %s%s", code, read("/lint/lint.txt"), read("/lint/lint.err")))
		}
	}
	if read("/lint/tidy.rc") != "0" {
		errs = append(errs, fmt.Errorf("go.mod/go.sum are not tidy; run `go mod tidy`:\n%s", read("/lint/tidy.out")))
	}
	return issues, errors.Join(errs...)
}

// modVerify checks the downloaded modules against go.sum (in a
// workspace, the build checks them as it downloads).
func (g *Goship) modVerify(ctx context.Context) error {
	if g.Workspace {
		return nil
	}
	deps, err := g.goDeps(ctx)
	if err != nil {
		return err
	}
	run := deps.WithExec([]string{"go", "mod", "verify"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := run.ExitCode(ctx)
	if err != nil || code == 0 {
		return err
	}
	out, _ := run.Stdout(ctx)
	stderr, _ := run.Stderr(ctx)
	return fmt.Errorf("downloaded modules do not match go.sum (a tampered cache or proxy?):\n%s%s", out, stderr)
}
