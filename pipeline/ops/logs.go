package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// LogsOptions select the serving container's log lines on each host.
type LogsOptions struct {
	// Since keeps lines from then on: a duration back from now ("10m") or
	// an RFC 3339 time; empty: the whole log.
	Since string
	// Grep keeps the lines whose message matches this regular expression
	// (RE2 syntax; (?i) for case-insensitive); empty: every line.
	Grep string
	// Tail keeps the last Tail selected lines per host, counted after
	// Grep; 0 keeps them all.
	Tail int
	// Follow keeps reading new lines for For (then returns what came),
	// or until the container stops.
	Follow bool
	For    time.Duration
	// Live, when set, is given each selected line as it arrives (host,
	// line), one call at a time across hosts: a follow's lines show while
	// it runs, not only when it returns.
	Live func(host string, l LogLine)
}

// Log defaults and bounds, declared once for the root module's flags.
const (
	DefaultTail      = 100
	DefaultFollowFor = 30 * time.Second
	MaxFollowFor     = time.Hour
	// readTimeout bounds reading a log without --follow.
	readTimeout = 2 * time.Minute
)

// logQuery is LogsOptions checked: what docker is asked and what is kept.
type logQuery struct {
	since  string // as docker takes it
	grep   *regexp.Regexp
	tail   int
	follow time.Duration // 0: no follow
}

// parse checks o before anything connects.
func (o LogsOptions) parse() (logQuery, error) {
	var q logQuery
	if o.Tail < 0 {
		return q, fmt.Errorf("--tail %d: want 0 (every line) or a positive number of lines", o.Tail)
	}
	q.tail = o.Tail
	if o.Since != "" {
		since, err := parseSince(o.Since)
		if err != nil {
			return q, err
		}
		q.since = since
	}
	if o.Grep != "" {
		re, err := regexp.Compile(o.Grep)
		if err != nil {
			return q, fmt.Errorf("--grep %q: not a regular expression (RE2 syntax): %w", o.Grep, err)
		}
		q.grep = re
	}
	if o.Follow {
		if o.For <= 0 || o.For > MaxFollowFor {
			return q, fmt.Errorf("--follow-for %s: want a duration from 1s to %s: a follow ends when it passes", o.For, MaxFollowFor)
		}
		q.follow = o.For
	}
	return q, nil
}

// parseSince reads a duration back from now or an RFC 3339 time, and
// returns it as docker logs --since takes it.
func parseSince(s string) (string, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return "", fmt.Errorf("--since %q: want a positive duration back from now (10m, 2h) or an RFC 3339 time", s)
		}
		return d.String(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return "", fmt.Errorf("--since %q: want a duration back from now (10m, 2h) or an RFC 3339 time (2026-05-01T12:00:00Z)", s)
}

// dockerArgs are docker logs' flags for q. docker's own --tail is only a
// shortcut when nothing is filtered after it: with --grep, the last
// matching lines may be older than the last Tail lines.
func (q logQuery) dockerArgs() string {
	args := []string{"--timestamps"}
	if q.since != "" {
		args = append(args, "--since", host.Q(q.since))
	}
	if q.tail > 0 && q.grep == nil {
		args = append(args, "--tail", strconv.Itoa(q.tail))
	}
	if q.follow > 0 {
		args = append(args, "--follow")
	}
	return strings.Join(args, " ")
}

// LogLine is one line of a container's log.
type LogLine struct {
	Time time.Time // as docker stamped it; zero if the line had no stamp
	Text string
}

// Format is the line as logs prints it: "host | stamp text\n".
func (l LogLine) Format(host string) string {
	stamp := "-"
	if !l.Time.IsZero() {
		stamp = l.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	}
	return fmt.Sprintf("%s | %s %s\n", host, stamp, l.Text)
}

// HostLogs is what one host's serving container logged, or why it could
// not be read.
type HostLogs struct {
	Host      string
	Release   string
	Strategy  string // how the release runs, e.g. "blue-green, color green"
	Container string
	Lines     []LogLine
	Err       error
}

// Logs reads the serving container's log on every target, all at once.
// Bad options fail before anything connects.
func Logs(ctx context.Context, targets []Target, o LogsOptions) ([]HostLogs, error) {
	q, err := o.parse()
	if err != nil {
		return nil, err
	}
	if err := locate(targets); err != nil {
		return nil, err
	}
	out := make([]HostLogs, len(targets))
	for i, t := range targets {
		out[i].Host = t.Host()
	}
	var live sync.Mutex
	each(ctx, targets, func(ctx context.Context, i int, a *host.App) {
		var seen func(LogLine)
		if o.Live != nil {
			seen = func(l LogLine) {
				live.Lock()
				defer live.Unlock()
				o.Live(out[i].Host, l)
			}
		}
		out[i].Err = readLogs(ctx, a, q, &out[i], seen)
	}, func(i int, err error) { out[i].Err = err })
	return out, nil
}

// readLogs streams the serving container's log through q's filter.
func readLogs(ctx context.Context, a *host.App, q logQuery, h *HostLogs, seen func(LogLine)) error {
	rec, s, id, err := servingContainer(ctx, a)
	if err != nil {
		return err
	}
	h.Release, h.Strategy, h.Container = rec.Name, s.Strategy, id
	keep := newLineKeeper(q.grep, q.tail)
	keep.seen = seen
	w := &lineWriter{line: keep.add}
	script := fmt.Sprintf("docker logs %s %s 2>&1", q.dockerArgs(), host.Q(id))
	limit := readTimeout
	if q.follow > 0 {
		limit = q.follow
	}
	err = a.Client().StreamDeadline(ctx, "docker logs", limit, script, nil, w)
	w.flush()
	h.Lines = keep.lines()
	var dl *sshconn.DeadlineError
	switch {
	case err == nil:
		return nil
	case q.follow > 0 && errors.As(err, &dl) && ctx.Err() == nil && dl.EndErr == nil:
		return nil // the follow window passed: the normal end
	case errors.As(err, new(*sshconn.ExitError)):
		// docker's own complaint went to the stream (2>&1): say it.
		return fmt.Errorf("docker logs of %s on %s: %w; it said: %s", host.Short(id), a.Target(), err, lastText(h.Lines))
	}
	return err
}

func lastText(lines []LogLine) string {
	if len(lines) == 0 {
		return "(nothing)"
	}
	return lines[len(lines)-1].Text
}

// lineKeeper keeps the last n lines that match re (n 0: all of them).
type lineKeeper struct {
	re   *regexp.Regexp
	n    int
	ring []LogLine
	next int // where the next line goes once the ring is full
	full bool
	seen func(LogLine) // told of each selected line as it comes
}

func newLineKeeper(re *regexp.Regexp, n int) *lineKeeper { return &lineKeeper{re: re, n: n} }

// add takes one raw line of `docker logs --timestamps`.
func (k *lineKeeper) add(raw string) {
	l := parseLogLine(raw)
	if k.re != nil && !k.re.MatchString(l.Text) {
		return
	}
	if k.seen != nil {
		k.seen(l)
	}
	if k.n == 0 || len(k.ring) < k.n {
		k.ring = append(k.ring, l)
		return
	}
	k.ring[k.next] = l
	k.next = (k.next + 1) % k.n
	k.full = true
}

// lines are the kept lines, oldest first.
func (k *lineKeeper) lines() []LogLine {
	if !k.full {
		return k.ring
	}
	return append(append([]LogLine(nil), k.ring[k.next:]...), k.ring[:k.next]...)
}

// parseLogLine splits docker's RFC 3339 stamp off a line.
func parseLogLine(raw string) LogLine {
	raw = strings.TrimSuffix(raw, "\r")
	stamp, text, ok := strings.Cut(raw, " ")
	if !ok {
		stamp, text = raw, ""
	}
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return LogLine{Text: raw}
	}
	return LogLine{Time: t, Text: text}
}

// lineWriter calls line for every complete line written to it.
type lineWriter struct {
	line    func(string)
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			return n, nil
		}
		w.line(string(append(w.partial, p[:i]...)))
		w.partial, p = w.partial[:0], p[i+1:]
	}
}

// flush passes on a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.line(string(w.partial))
		w.partial = nil
	}
}

// FormatLogs renders every host's lines, merged in time order, each
// prefixed with its host; then the hosts that could not be read. With one
// host, or when no host could be read, an error is returned instead.
func FormatLogs(views []HostLogs) (string, error) {
	var errs []error
	type row struct {
		host string
		LogLine
	}
	var rows []row
	for _, v := range views {
		if v.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Host, v.Err))
			continue
		}
		last := time.Time{}
		for _, l := range v.Lines {
			if l.Time.IsZero() { // keep an unstamped line after its predecessor
				l.Time = last
			}
			last = l.Time
			rows = append(rows, row{v.Host, l})
		}
	}
	if len(errs) > 0 && (len(views) == 1 || len(errs) == len(views)) {
		return "", errors.Join(errs...)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Time.Before(rows[j].Time) })
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.Format(r.host))
	}
	for _, e := range errs {
		fmt.Fprintf(&b, "ERROR %v\n", e)
	}
	return b.String(), nil
}
