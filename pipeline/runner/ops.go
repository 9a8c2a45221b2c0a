package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/ops"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// operator is a target with day-2 verbs on its hosts: logs, exec,
// details, maintenance, unlock. Docker hosts have them; a cluster has
// kubectl.
type operator interface {
	logs(ctx context.Context, l job.Logs) (string, error)
	exec(ctx context.Context, x job.Exec) (string, error)
	details(ctx context.Context) (string, error)
	maintenance(ctx context.Context, m job.Maintenance) (string, error)
	unlock(ctx context.Context) (string, error)
}

// operate runs a day-2 verb.
func operate(ctx context.Context, e *env, o operator, j job.Job) (job.Result, error) {
	switch {
	case j.Verb == job.VerbLogs && j.Logs != nil:
		return text(o.logs(ctx, *j.Logs))
	case j.Verb == job.VerbExec && j.Exec != nil:
		return text(o.exec(ctx, *j.Exec))
	case j.Verb == job.VerbDetails:
		return text(o.details(ctx))
	case j.Verb == job.VerbMaintenance && j.Maintenance != nil:
		return text(o.maintenance(ctx, *j.Maintenance))
	case j.Verb == job.VerbUnlock:
		return text(o.unlock(ctx))
	}
	return job.Result{}, fmt.Errorf("unknown verb %q, or its settings are missing", j.Verb)
}

func (h *hosts) targets() []ops.Target {
	return ops.Targets(h.configs, h.e.run.App, h.cfg.AppDir, h.cfg.Service)
}

func (h *hosts) logs(ctx context.Context, l job.Logs) (string, error) {
	o := ops.LogsOptions{Since: l.Since, Tail: l.Tail, Follow: l.Follow, Grep: l.Grep, For: l.FollowFor.Std()}
	switch {
	case o.Tail == 0:
		o.Tail = ops.DefaultTail
	case o.Tail < 0:
		o.Tail = 0 // every line
	}
	if o.For == 0 {
		o.For = ops.DefaultFollowFor
	}
	if l.Follow {
		// A function returns once: the runner's stderr shows while it runs.
		o.Live = func(host string, line ops.LogLine) { _, _ = fmt.Fprint(h.e.log, line.Format(host)) }
	}
	views, err := ops.Logs(ctx, h.targets(), o)
	if err != nil {
		return "", err
	}
	return ops.FormatLogs(views)
}

func (h *hosts) exec(ctx context.Context, x job.Exec) (string, error) {
	if len(h.configs) > 1 && !x.EveryHost {
		return "", fmt.Errorf("exec runs a one-off command on one host, and this server is a fleet of %d: give one --host, or --every-host to run it on each, one after another", len(h.configs))
	}
	results, err := ops.Exec(ctx, h.targets(), ops.ExecSpec{Cmd: x.Cmd, Who: h.e.run.Who, Timeout: x.Timeout.Std()})
	if err != nil {
		if len(results) > 0 {
			var done []string
			for _, r := range results {
				done = append(done, r.Host)
			}
			return "", fmt.Errorf("%w\n(it had succeeded on: %s)", err, strings.Join(done, ", "))
		}
		return "", err
	}
	return ops.FormatExec(results), nil
}

func (h *hosts) details(ctx context.Context) (string, error) {
	views, err := ops.Details(ctx, h.targets())
	if err != nil {
		return "", err
	}
	return ops.FormatDetails(views)
}

// maintenance turns the proxy's page on or off host by host, through
// each release's strategy, and says what each host did.
func (h *hosts) maintenance(ctx context.Context, m job.Maintenance) (string, error) {
	var page *proxy.Maintenance
	if m.On {
		retry := m.RetryAfter.Std()
		if retry == 0 {
			retry = proxy.DefaultRetryAfter
		}
		var err error
		if page, err = proxy.NewMaintenance(m.Message, retry); err != nil {
			return "", err
		}
	}
	return fleet.SetMaintenance(ctx, h.configs, h.e.run.App, h.cfg.AppDir, page)
}

func (h *hosts) unlock(ctx context.Context) (string, error) {
	owner, err := fleet.Unlock(ctx, h.configs, h.e.run.App, h.cfg.AppDir)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("broke the lock of %s held by %s since %s", h.e.run.App, owner.Who, owner.Since.Format(time.RFC3339)), nil
}
