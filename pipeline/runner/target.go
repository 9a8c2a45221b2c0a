package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// Target is a place goship deploys to: docker hosts over SSH (hosts.go)
// or a Kubernetes namespace (cluster.go). Each is made from its job
// settings alone, so one that is wrong fails before anything connects. A
// new target is one file here implementing it, and one line in
// targetFor.
type Target interface {
	// Name is what messages call it ("server", "cluster").
	Name() string
	// Plan checks a deploy whole, touching nothing, and returns it ready
	// to run, with every image it will run.
	Plan(ctx context.Context, d job.Deploy) (Planned, error)
	// Rollback brings back a recorded release; verify, when set, checks
	// the image it chose before anything changes.
	Rollback(ctx context.Context, r job.Rollback, guard Guard) (Report, error)
	// Releases lists the app's releases, newest first.
	Releases(ctx context.Context) (string, error)
	// Status says what serves now and how it is.
	Status(ctx context.Context) (string, error)
}

// Planned is a deploy checked by its target, ready to run.
type Planned interface {
	// Images are every image the release runs (the app's and any other
	// service's or container's), as given.
	Images() []string
	// Pin replaces each image by its verified reference (by digest).
	Pin(pinned map[string]string) error
	// Run deploys, with the policy guard the target enforces.
	Run(ctx context.Context, guard Guard) (Report, error)
}

// Guard is what a target is told about verification: the policy the
// release was verified against (nil: none), the reason a deploy skips it
// (logged), and for a rollback the check of the image it chooses. A
// target that remembers a policy refuses a release without one unless
// the reason is given.
type Guard struct {
	Policy     *PolicyMark
	Unverified string
	Verify     func(ctx context.Context, image string) error
}

// PolicyMark names the policy a release was verified against, as a
// target records it: its name in the repository and its content digest.
type PolicyMark struct {
	Name, Digest string
}

// Report is how a deploy or rollback on a target went: the same shape for
// every target, so reporting and notifying are one path.
type Report struct {
	Outcome outcome.Outcome
	// Summary is what the user reads.
	Summary string
	// Event is what the webhooks are told; Outcome and Reason are filled
	// by the runner.
	Event notify.Event
}

// targetFor makes the job's target: the one place that chooses.
func targetFor(ctx context.Context, e *env, t *job.Target) (Target, error) {
	switch {
	case t == nil:
		return nil, errors.New("no target: the job names neither docker hosts nor a cluster")
	case t.Hosts != nil && t.Cluster != nil:
		return nil, errors.New("the job names both docker hosts and a cluster: one target at a time")
	case t.Hosts != nil:
		return newHosts(e, *t.Hosts)
	case t.Cluster != nil:
		return newCluster(ctx, e, *t.Cluster)
	}
	return nil, errors.New("no target: the job names neither docker hosts nor a cluster")
}

// deployRelease plans, verifies and runs a deploy, then reports and notifies.
// With Check, it stops after the plan.
func deployRelease(ctx context.Context, e *env, t Target, j job.Job) (job.Result, error) {
	if j.Deploy == nil {
		return job.Result{}, errors.New("a deploy job without its deployment")
	}
	p, err := t.Plan(ctx, *j.Deploy)
	if err != nil {
		return job.Result{}, err
	}
	if j.Check {
		return job.Result{Output: "the deployment is valid for " + t.Name()}, nil
	}
	guard, err := verifyRelease(ctx, e, j, p)
	if err != nil {
		return job.Result{}, fmt.Errorf("deploy refused before anything was touched: %w", err)
	}
	rep, err := p.Run(ctx, guard)
	return e.finish(ctx, notify.Deploy, rep, err)
}

// rollbackRelease verifies the chosen release as the policy asks, then reports
// and notifies like a deploy.
func rollbackRelease(ctx context.Context, e *env, t Target, j job.Job) (job.Result, error) {
	if j.Rollback == nil {
		return job.Result{}, errors.New("a rollback job without its settings")
	}
	guard, err := rollbackGuard(ctx, e, j)
	if err != nil {
		return job.Result{}, err
	}
	rep, err := t.Rollback(ctx, *j.Rollback, guard)
	return e.finish(ctx, notify.Rollback, rep, err)
}

// finish tells the webhooks how the run went and builds the result: the
// summary, and the error with what the webhooks were told. The outcome is
// the target's, never read from the error.
func (e *env) finish(ctx context.Context, kind notify.EventKind, rep Report, err error) (job.Result, error) {
	ev := rep.Event
	ev.Kind = kind
	ev.Outcome = outcome.Worst(rep.Outcome, outcome.Succeeded) // unset counts as failed
	if err != nil && ev.Reason == "" {
		ev.Reason = firstLine(err.Error())
	}
	if ev.Who == "" {
		ev.Who = e.run.Who
	}
	if ev.App == "" {
		ev.App = e.run.App
	}
	var out []string
	if rep.Summary != "" {
		out = append(out, rep.Summary)
	}
	if len(e.notify) > 0 {
		// Sent even when the caller has given up, and never failing the run.
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if told := notify.Summary(notify.Send(sendCtx, e.notify, ev)); told != "" {
			out = append(out, told)
		}
	}
	res := job.Result{Output: strings.Join(out, "\n"), Outcome: string(rep.Outcome)}
	if err != nil {
		if res.Output != "" {
			return res, fmt.Errorf("%w\n%s", err, res.Output)
		}
		return res, err
	}
	return res, nil
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
