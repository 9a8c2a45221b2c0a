package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/goship-dev/goship/ci"
	"github.com/goship-dev/goship/internal/dagger"
)

// Ci runs lint, test, build and scan in parallel and returns every report
// (junit.xml, coverage.out, test.json, Trivy reports, summary.md). Every
// failing step is reported, not only the first.
// +check
func (g *Goship) Ci(ctx context.Context) (*dagger.Directory, error) {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		reports = dag.Directory()
		steps   []ci.Step
	)
	record := func(name string, dir *dagger.Directory, err error) {
		mu.Lock()
		defer mu.Unlock()
		if dir != nil {
			reports = reports.WithDirectory(name, dir)
		}
		steps = append(steps, ci.Step{Name: name, Err: err})
	}
	run := func(name string, fn func(context.Context) (*dagger.Directory, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir, err := fn(ctx)
			if dir != nil {
				// Materialize now, so a failed step still leaves its reports.
				if _, serr := dir.Sync(ctx); serr != nil {
					dir = nil
				}
			}
			record(name, dir, err)
		}()
	}
	run("lint", func(ctx context.Context) (*dagger.Directory, error) { return nil, g.Lint(ctx) })
	run("test", g.Test)
	run("build", func(ctx context.Context) (*dagger.Directory, error) {
		c, err := g.Build(ctx)
		if err == nil {
			_, err = c.Sync(ctx)
		}
		return nil, err
	})
	run("scan", func(ctx context.Context) (*dagger.Directory, error) {
		return g.Scan(ctx, "HIGH,CRITICAL", "vuln,secret", false, nil, nil)
	})
	wg.Wait()
	summary := ci.StepsSummary(g.App, steps)
	reports = reports.WithNewFile("summary.md", summary)
	var errs []error
	for _, s := range ci.SortSteps(steps) {
		if s.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Name, s.Err))
		}
	}
	if len(errs) > 0 {
		return reports, fmt.Errorf("ci failed in %d step(s):\n%w", len(errs), errors.Join(errs...))
	}
	return reports, nil
}

// Release runs ci, then publish, then deploy, and returns the deployed
// reference. Nothing is pushed unless every check passes; nothing is
// deployed unless the push verified.
// +cache="never"
func (g *Goship) Release(
	ctx context.Context,
	// Registry host (see publish).
	registryHost string,
	// +optional
	namespace string,
	// +optional
	repository string,
	// Registry username, for the push and the server's pull.
	username string,
	// Registry password.
	password *dagger.Secret,
	// SSH host of the docker server.
	host string,
	// +optional
	// +default=22
	port int,
	// +optional
	// +default="deploy"
	user string,
	key *dagger.Secret,
	knownHosts *dagger.Secret,
	// +optional
	keyPassphrase *dagger.Secret,
	// +optional
	compose *dagger.File,
	// +optional
	// +default="app"
	service string,
	// +optional
	env *dagger.Secret,
	// +optional
	publish string,
	// +optional
	// +default="/healthz"
	healthPath string,
	// +optional
	// +default="60s"
	healthTimeout string,
	// +optional
	appDir string,
) (string, error) {
	if _, err := g.Ci(ctx); err != nil {
		return "", fmt.Errorf("release stopped before publish: %w", err)
	}
	ref, err := g.Publish(ctx, registryHost, namespace, repository, username, password, "", "")
	if err != nil {
		return "", fmt.Errorf("release stopped before deploy: %w", err)
	}
	out, err := g.Deploy(ctx, host, port, user, key, knownHosts, keyPassphrase, ref, "registry", username, password,
		compose, service, env, publish, healthPath, 0, healthTimeout, appDir, 5)
	if err != nil {
		return "", fmt.Errorf("published %s, but the deploy failed: %w", ref, err)
	}
	fmt.Println(out)
	return ref, nil
}
