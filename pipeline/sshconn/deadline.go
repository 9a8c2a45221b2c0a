package sshconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// DeadlineError is a remote step that did not finish within its deadline,
// or whose context was cancelled. The process on the server was ended
// unless EndErr says otherwise. errors.Is(err, context.DeadlineExceeded)
// (or context.Canceled) holds.
type DeadlineError struct {
	Step   string        // the step, as given to RunDeadline
	Target string        // user@host:port
	After  time.Duration // how long the step ran before it was stopped
	Limit  time.Duration // the step's own deadline; 0 if only ctx ended it
	Cause  error         // context.DeadlineExceeded or context.Canceled
	// EndErr is why the remote process could not be ended (or that it was
	// not confirmed); nil means it is gone.
	EndErr error
}

func (e *DeadlineError) Error() string {
	why := "deadline exceeded"
	if errors.Is(e.Cause, context.Canceled) {
		why = "cancelled"
	} else if e.Limit > 0 {
		why = fmt.Sprintf("its deadline is %s", e.Limit)
	}
	msg := fmt.Sprintf("%s on %s: stopped after %s (%s)", e.Step, e.Target, e.After.Round(time.Millisecond), why)
	if e.EndErr != nil {
		return msg + fmt.Sprintf("; ending the remote command failed: %v: look for a leftover process on the server", e.EndErr)
	}
	return msg + "; the remote command was ended"
}

func (e *DeadlineError) Unwrap() error { return e.Cause }

// endTimeout bounds ending a remote process: a TERM, up to 5 s of grace,
// then KILL, over a fresh session.
const endTimeout = 15 * time.Second

// RunDeadline is Run with a deadline (timeout <= 0: ctx's only). When it
// passes, or ctx is cancelled, the remote command and everything it
// started are ended on the server, not only our side of the session, and
// the error is a *DeadlineError.
func (c *Client) RunDeadline(ctx context.Context, step string, timeout time.Duration, script string, stdin io.Reader) (string, error) {
	var stdout bytes.Buffer
	err := c.StreamDeadline(ctx, step, timeout, script, stdin, &stdout)
	return stdout.String(), err
}

// StreamDeadline is RunDeadline with stdout going to w.
//
// sshd starts each session's command in a new session, so the remote
// shell's pid is the process group of everything the script runs. The
// script first reports that pid on stderr; on timeout a second session
// sends the group SIGTERM, then SIGKILL after a 5 s grace, and waits
// until no member runs. A "signal" channel request is not enough: recent
// OpenSSH answers it with killpg (this test world's 9.2 does), but older
// servers and Dropbear ignore it, sshd refuses it for some sessions, and
// nothing confirms delivery or escalates to KILL.
func (c *Client) StreamDeadline(ctx context.Context, step string, timeout time.Duration, script string, stdin io.Reader, w io.Writer) error {
	start := time.Now()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	sess, err := c.OpenSession(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	defer func() { _ = sess.Close() }()
	var stderr bytes.Buffer
	out := &stoppableWriter{w: w}
	errOut := &stoppableWriter{w: &limitedWriter{buf: &stderr, max: 64 << 10}}
	pgid := newPgidCatcher(errOut)
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, out, pgid
	if err := sess.Start(pgidMarkerLine + script); err != nil {
		return fmt.Errorf("%s: start on %s: %w", step, c.Target(), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		after := time.Since(start)
		out.stop()
		errOut.stop()
		endErr := c.endGroup(pgid, done)
		return &DeadlineError{Step: step, Target: c.Target(), After: after, Limit: max(timeout, 0), Cause: ctx.Err(), EndErr: endErr}
	}
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		return &ExitError{Cmd: step, Status: exit.ExitStatus(), Stderr: stderr.String()}
	case err != nil:
		return fmt.Errorf("%s on %s: connection lost: %w", step, c.Target(), err)
	}
	return nil
}

// pgidMarkerLine reports the remote shell's pid (its process group) as
// stderr's first line, before the script runs in the same shell.
const pgidMarkerLine = "printf 'goship-pgid %s\\n' \"$$\" >&2\n"

// endGroup ends the remote process group over a fresh session and waits
// (bounded) for the original session to see its command exit.
func (c *Client) endGroup(pgid *pgidCatcher, done <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
	defer cancel()
	finished := false
	select {
	case <-pgid.seen:
	case err := <-done:
		// The command ended on its own as the deadline passed.
		if err == nil || errors.As(err, new(*ssh.ExitError)) {
			return nil
		}
		finished = true // the session broke: the command may still run
	case <-ctx.Done():
	}
	pid, ok := pgid.pid()
	if !ok {
		return fmt.Errorf("the remote shell never reported its process id")
	}
	p := strconv.Itoa(pid)
	// A member counts while it runs: the zombies that orphaned children
	// leave until init reaps them do not (kill -0 would still see them;
	// it is the test where there is no /proc).
	script := `p=` + p + `
running() {
  [ -d /proc/self ] || { kill -0 -$p 2>/dev/null || kill -0 $p 2>/dev/null; return; }
  for f in /proc/[0-9]*/stat; do
    read -r l 2>/dev/null <"$f" || continue
    set -- ${l##*) }
    if [ "$3" = "$p" ] && [ "$1" != Z ]; then return 0; fi
  done
  return 1
}
kill -TERM -$p 2>/dev/null || kill -TERM $p 2>/dev/null || exit 0
start=$(date +%s)
while running; do
  waited=$(($(date +%s) - start))
  if [ $waited -ge 5 ]; then kill -KILL -$p 2>/dev/null; kill -KILL $p 2>/dev/null; fi
  if [ $waited -ge 10 ]; then echo "process group $p still runs 5s after SIGKILL" >&2; exit 1; fi
  sleep 0.1
done`
	if _, err := c.Run(ctx, "end process group "+p, script, nil); err != nil {
		return err
	}
	if finished {
		return nil
	}
	select {
	case err := <-done:
		_ = err // killed: its exit status says only that
		return nil
	case <-ctx.Done():
		return fmt.Errorf("process group %s was ended but its session did not close within %s", p, endTimeout)
	}
}

// pgidCatcher takes the marker line off the front of stderr and passes
// everything else on.
type pgidCatcher struct {
	mu    sync.Mutex
	next  io.Writer
	line  []byte
	val   int
	found bool
	seen  chan struct{} // closed once the first line is in
}

func newPgidCatcher(next io.Writer) *pgidCatcher {
	return &pgidCatcher{next: next, seen: make(chan struct{})}
}

func (p *pgidCatcher) Write(b []byte) (int, error) {
	n := len(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.seen:
		_, err := p.next.Write(b)
		return n, err
	default:
	}
	i := bytes.IndexByte(b, '\n')
	if i < 0 && len(p.line)+len(b) < 64 {
		p.line = append(p.line, b...)
		return n, nil
	}
	rest := []byte(nil)
	if i >= 0 {
		p.line, rest = append(p.line, b[:i+1]...), b[i+1:]
	} else {
		p.line = append(p.line, b...)
	}
	close(p.seen)
	if v, ok := strings.CutPrefix(strings.TrimSpace(string(p.line)), "goship-pgid "); ok {
		if pid, err := strconv.Atoi(v); err == nil && pid > 1 {
			p.val, p.found = pid, true
		}
	}
	if !p.found {
		rest = append(p.line, rest...) // not ours: the script's own output
	}
	if len(rest) > 0 {
		if _, err := p.next.Write(rest); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (p *pgidCatcher) pid() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.val, p.found
}
