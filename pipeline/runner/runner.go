// Package runner runs one job of goship's Dagger module (pipeline/job):
// it chooses the target once, checks the job whole before anything is
// touched, verifies what the repository's policy asks, acts, and reports
// and notifies the same way for every target. Everything heavy that goship
// does (SSH, registries, Kubernetes, signing, webhooks) is reached from
// here, so the module itself stays light.
package runner

import (
	"context"
	"fmt"
	"io"

	"github.com/goship-dev/goship/pipeline/job"
)

// Runner runs jobs; Log gets the progress lines (the runner's stderr,
// which the Dagger UI shows as the job runs).
type Runner struct {
	Log io.Writer
}

// Run runs j and says how it went. A job that fails is a Result with
// Error set, never a panic or a silent exit: the module reads it.
func (r Runner) Run(ctx context.Context, j job.Job) job.Result {
	res, err := r.run(ctx, j)
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

func (r Runner) run(ctx context.Context, j job.Job) (job.Result, error) {
	env, err := newEnv(j, r.Log)
	if err != nil {
		return job.Result{}, err
	}
	switch j.Verb {
	case job.VerbPublish:
		return publish(ctx, env, j)
	case job.VerbVerify:
		return verify(ctx, env, j)
	case job.VerbMirror:
		return mirror(ctx, env, j)
	case job.VerbPolicy:
		return clusterImagePolicy(j)
	case job.VerbCIEngine:
		return ciEngine(ctx, j)
	}
	t, err := targetFor(ctx, env, j.Target)
	if err != nil {
		return job.Result{}, err
	}
	switch j.Verb {
	case job.VerbDeploy:
		return deployRelease(ctx, env, t, j)
	case job.VerbRollback:
		return rollbackRelease(ctx, env, t, j)
	case job.VerbReleases:
		return text(t.Releases(ctx))
	case job.VerbStatus:
		return text(t.Status(ctx))
	}
	ops, ok := t.(operator)
	if !ok {
		return job.Result{}, fmt.Errorf("%s is not something a %s does (docker hosts only)", j.Verb, t.Name())
	}
	return operate(ctx, env, ops, j)
}

// text is a verb's text as its result.
func text(out string, err error) (job.Result, error) {
	return job.Result{Output: out}, err
}
