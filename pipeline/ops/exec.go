package ops

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// ExecSpec is a one-off command in a new container of the serving
// release's image: with the release's .env, on the serving container's
// networks and with its volumes, not interactive, within a deadline.
type ExecSpec struct {
	// Cmd is the command line, split into words as a shell would (quotes
	// and backslashes; nothing is expanded). The words are the arguments
	// of the image's entrypoint: goship's images run the app binary, so
	// "migrate up" runs /app migrate up.
	Cmd string
	// Timeout is how long the command may run before it is stopped and
	// its container removed (default DefaultExecTimeout).
	Timeout time.Duration
	// Who is recorded in deploys.log as the one who ran it.
	Who string
}

// DefaultExecTimeout bounds an exec when the spec says nothing.
const DefaultExecTimeout = 5 * time.Minute

// cleanupTimeout bounds removing the one-off container and writing the
// outcome to deploys.log, which happen even when the exec's own context
// has ended.
const cleanupTimeout = 30 * time.Second

// maxOutput is how much of the command's output is kept (its end).
const maxOutput = 1 << 20

// ExecResult is a command that ran to the end with exit code 0.
type ExecResult struct {
	Host      string
	Release   string
	Image     string // the release's image reference
	Container string // the one-off container's name (removed by now)
	Output    string // stdout and stderr, interleaved as written
	Took      time.Duration
}

// ExecError is a command that ran but failed: it exited non-zero, or it
// ran past its deadline and was stopped.
type ExecError struct {
	Host     string
	Release  string
	Code     int // the exit code; -1 when it was stopped
	TimedOut bool
	Limit    time.Duration
	Output   string
}

func (e *ExecError) Error() string {
	what := fmt.Sprintf("the command exited with code %d", e.Code)
	if e.TimedOut {
		what = fmt.Sprintf("the command ran past its %s deadline: it was stopped and its container removed (give a longer --timeout if it needs more)", e.Limit)
	}
	msg := fmt.Sprintf("exec on %s (release %s): %s", e.Host, e.Release, what)
	if out := lastLines(e.Output, 20); out != "" {
		msg += "; its output ended:\n" + out
	}
	return msg
}

// parse checks the spec and splits the command before anything connects.
func (s ExecSpec) parse() (ExecSpec, []string, error) {
	argv, err := splitWords(s.Cmd)
	if err != nil {
		return s, nil, fmt.Errorf("--cmd: %w", err)
	}
	if len(argv) == 0 {
		return s, nil, fmt.Errorf("--cmd is empty: give the command to run, e.g. --cmd=\"migrate up\" (the arguments of the image's entrypoint)")
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultExecTimeout
	}
	if s.Timeout < 0 {
		return s, nil, fmt.Errorf("--timeout %s: want a positive duration", s.Timeout)
	}
	if s.Who == "" {
		s.Who = "goship"
	}
	return s, argv, nil
}

// Exec runs the command on every target, one after another, and stops
// at the first that fails. It returns the results of those that
// succeeded. Bad input fails before anything connects.
func Exec(ctx context.Context, targets []Target, spec ExecSpec) ([]*ExecResult, error) {
	spec, argv, err := spec.parse()
	if err != nil {
		return nil, err
	}
	if err := locate(targets); err != nil {
		return nil, err
	}
	var done []*ExecResult
	for _, t := range targets {
		res, err := execOn(ctx, t, spec, argv)
		if err != nil {
			return done, err
		}
		done = append(done, res)
	}
	return done, nil
}

func execOn(ctx context.Context, t Target, spec ExecSpec, argv []string) (*ExecResult, error) {
	a, closeConn, err := open(ctx, t)
	if err != nil {
		return nil, err
	}
	defer closeConn()
	rec, s, id, err := servingContainer(ctx, a)
	if err != nil {
		return nil, err
	}
	info, _, err := inspectContainer(ctx, a, id)
	if err != nil {
		return nil, err
	}
	name := a.Name() + "-exec-" + randomHex(4)
	res := &ExecResult{Host: t.Host(), Release: rec.Name, Image: rec.Image, Container: name}
	entry := host.LogEntry{Event: "exec", Release: rec.Name, Image: rec.Image, Who: spec.Who,
		Strategy: s.Strategy, Command: argv}
	started := entry
	started.Started = true
	if err := logExec(ctx, a, started, nil); err != nil {
		return nil, fmt.Errorf("exec on %s: recording it in deploys.log failed, so it did not run: %w", a.Target(), err)
	}
	start := time.Now()
	runErr := runOneOff(ctx, a, name, id, rec, info.networks(), argv, spec.Timeout, res)
	res.Took = time.Since(start)
	var ee *ExecError
	if errors.As(runErr, &ee) {
		ee.Host, ee.Release = t.Host(), rec.Name
	}
	entry.Outcome = outcome.Succeeded
	if runErr != nil {
		entry.Outcome = outcome.Failed
	}
	// The command ran: a failure to record its outcome is reported, not
	// mistaken for the command's.
	if err := logExec(ctx, a, entry, runErr); err != nil && runErr == nil {
		return res, fmt.Errorf("exec on %s succeeded, but recording its outcome in deploys.log failed: %w", a.Target(), err)
	}
	if runErr != nil {
		return nil, runErr
	}
	return res, nil
}

// runOneOff creates the one-off container, runs it attached within
// limit, reads how it ended and removes it.
func runOneOff(ctx context.Context, a *host.App, name, serving string, rec host.Record, networks, argv []string, limit time.Duration, res *ExecResult) error {
	image := rec.ImageID
	if image == "" {
		image = rec.Image
	}
	// Removed whatever happens below: it may exist after a failed create.
	defer func() {
		cleanup, cancel := afterwards(ctx)
		defer cancel()
		_, _ = a.Run(cleanup, "remove exec container", "docker rm -f "+host.Q(name)+" >/dev/null 2>&1; true", nil)
	}()
	if _, err := a.Run(ctx, "create exec container", createScript(a, name, serving, rec.Name, image, networks, argv), nil); err != nil {
		return fmt.Errorf("exec on %s: creating the container: %w", a.Target(), err)
	}
	out := &tailBuffer{max: maxOutput}
	runErr := a.Client().StreamDeadline(ctx, "exec "+name, limit, "docker start -a "+host.Q(name)+" 2>&1", nil, out)
	res.Output = out.String()
	var dl *sshconn.DeadlineError
	if errors.As(runErr, &dl) {
		if ctx.Err() != nil {
			return runErr // cancelled from outside: not the command's deadline
		}
		return &ExecError{Code: -1, TimedOut: true, Limit: limit, Output: res.Output}
	}
	cleanup, cancel := afterwards(ctx)
	defer cancel()
	state, err := a.Run(cleanup, "inspect exec container", "docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' "+host.Q(name), nil)
	if err != nil {
		return fmt.Errorf("exec on %s: reading how the command ended: %w", a.Target(), err)
	}
	status, codeStr, _ := strings.Cut(strings.TrimSpace(state), " ")
	code, convErr := strconv.Atoi(codeStr)
	if status != "exited" || convErr != nil {
		// It never ran, or docker lost it: docker start's own error says why.
		if runErr == nil {
			runErr = errors.New("docker start returned")
		}
		return fmt.Errorf("exec on %s: the container did not run to the end (status %q): %w; output: %s", a.Target(), status, runErr, lastLines(res.Output, 5))
	}
	if code != 0 {
		return &ExecError{Code: code, Output: res.Output}
	}
	return nil
}

// createScript creates the one-off container: the release's image and
// .env (when it has one), the serving container's volumes, its first
// network at creation and the others connected before it starts.
// Every word is quoted: no shell on the server reads the user's command.
func createScript(a *host.App, name, serving, release, image string, networks, argv []string) string {
	env := a.ReleaseDir(release) + "/.env"
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\nset --\nif [ -f %[1]s ]; then set -- --env-file %[1]s; fi\n", host.Q(env))
	args := []string{"docker", "create", `"$@"`, "--name", host.Q(name),
		"--label", host.Q("dev.goship.app=" + a.Name()), "--label", host.Q("dev.goship.exec=" + release),
		"--volumes-from", host.Q(serving)}
	if len(networks) > 0 {
		args = append(args, "--network", host.Q(networks[0]))
	}
	args = append(args, host.Q(image))
	for _, w := range argv {
		args = append(args, host.Q(w))
	}
	b.WriteString(strings.Join(args, " ") + " >/dev/null\n")
	for _, n := range networks[min(1, len(networks)):] {
		fmt.Fprintf(&b, "docker network connect %s %s\n", host.Q(n), host.Q(name))
	}
	return b.String()
}

// logExec appends one exec line to deploys.log; it writes even when the
// exec's own context has ended.
func logExec(ctx context.Context, a *host.App, e host.LogEntry, err error) error {
	ctx, cancel := afterwards(ctx)
	defer cancel()
	e.Time = time.Now().UTC()
	var ee *ExecError
	switch {
	case errors.As(err, &ee) && ee.TimedOut:
		e.Error = fmt.Sprintf("stopped at its %s deadline", ee.Limit)
	case errors.As(err, &ee):
		e.Error = fmt.Sprintf("exit code %d", ee.Code)
	case err != nil:
		e.Error = err.Error()
	}
	return a.AppendLog(ctx, e)
}

// afterwards is a context for a step that must run even when ctx has
// ended (cleanup, the audit line), bounded on its own.
func afterwards(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max  int
	buf  []byte
	lost int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	// Cut in batches: shifting on every write would copy max bytes each time.
	if len(t.buf) > 2*t.max {
		t.cut()
	}
	return len(p), nil
}

func (t *tailBuffer) cut() {
	if over := len(t.buf) - t.max; over > 0 {
		t.lost += over
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
}

func (t *tailBuffer) String() string {
	t.cut()
	if t.lost > 0 {
		return fmt.Sprintf("[the first %d bytes of output were cut]\n%s", t.lost, t.buf)
	}
	return string(t.buf)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// FormatExec renders what the commands printed: one host's output as it
// came, or each host's under a header.
func FormatExec(results []*ExecResult) string {
	if len(results) == 1 {
		return results[0].Output
	}
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "== %s (release %s): exit 0 in %s ==\n%s", r.Host, r.Release, r.Took.Round(time.Millisecond), r.Output)
		if !strings.HasSuffix(r.Output, "\n") && r.Output != "" {
			b.WriteString("\n")
		}
	}
	return b.String()
}
