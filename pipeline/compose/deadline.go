package compose

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// errProxyStepEnd is why a proxy step's end is not confirmed: pipeline/proxy
// runs its commands with a context only, so at the deadline they are
// signalled through their SSH sessions, which are then closed.
var errProxyStepEnd = errors.New("the proxy's commands were signalled through their SSH sessions; their end is not confirmed")

// withinDeadline runs a proxy step (which takes only a context) within
// limit. When the limit passes first, the error is an
// *sshconn.DeadlineError naming the step and how long it ran, with what
// the step itself said after it.
func withinDeadline(ctx context.Context, a *host.App, step string, limit time.Duration, fn func(context.Context) error) error {
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := fn(sctx)
	if err == nil || ctx.Err() != nil || !errors.Is(sctx.Err(), context.DeadlineExceeded) {
		return err
	}
	de := &sshconn.DeadlineError{Step: step, Target: a.Target(), After: time.Since(start), Limit: limit, Cause: context.DeadlineExceeded, EndErr: errProxyStepEnd}
	return fmt.Errorf("%w (the step said: %w); a slow proxy start needs a longer with-proxy --switch-timeout", de, err)
}
