package ops

import (
	"context"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

func TestSplitWordsSplitsLikeAShellWithoutExpanding(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"migrate up", []string{"migrate", "up"}},
		{"  env \t GREETING \n", []string{"env", "GREETING"}},
		{`say 'two words' "and $HOME" plain\ space`, []string{"say", "two words", "and $HOME", "plain space"}},
		{`a"b"'c'd`, []string{"abcd"}},
		{`"escaped \" quote" '\n stays'`, []string{`escaped " quote`, `\n stays`}},
		{`empty '' ""`, []string{"empty", "", ""}},
		{`x;rm -rf /`, []string{"x;rm", "-rf", "/"}},
		{"", nil},
	} {
		got, err := splitWords(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `trailing\`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) accepted", bad)
		}
	}
}

func TestLogOptionsAreCheckedAndTranslatedForDocker(t *testing.T) {
	for _, tc := range []struct {
		o    LogsOptions
		want string // docker logs' flags
	}{
		{LogsOptions{Tail: 100}, "--timestamps --tail 100"},
		{LogsOptions{}, "--timestamps"},
		{LogsOptions{Since: "90m", Tail: 5}, "--timestamps --since 1h30m0s --tail 5"},
		{LogsOptions{Since: "2026-05-01T12:00:00+02:00"}, "--timestamps --since 2026-05-01T10:00:00Z"},
		// With --grep, the last matching lines may lie before docker's tail.
		{LogsOptions{Grep: "panic", Tail: 5}, "--timestamps"},
		{LogsOptions{Tail: 3, Follow: true, For: time.Second}, "--timestamps --tail 3 --follow"},
	} {
		q, err := tc.o.parse()
		if err != nil {
			t.Errorf("%+v: %v", tc.o, err)
			continue
		}
		if got := q.dockerArgs(); got != tc.want {
			t.Errorf("%+v: docker logs %s, want %s", tc.o, got, tc.want)
		}
	}
	for _, tc := range []struct {
		o    LogsOptions
		want string
	}{
		{LogsOptions{Tail: -3}, "--tail -3"},
		{LogsOptions{Since: "yesterday"}, `--since "yesterday"`},
		{LogsOptions{Since: "-5m"}, `--since "-5m"`},
		{LogsOptions{Grep: "(unclosed"}, "--grep"},
		{LogsOptions{Follow: true}, "--follow-for"},
		{LogsOptions{Follow: true, For: 2 * time.Hour}, "--follow-for 2h0m0s"},
	} {
		if _, err := tc.o.parse(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", tc.o, err, tc.want)
		}
	}
}

func TestLineKeeperKeepsTheLastMatchingLines(t *testing.T) {
	raw := []string{
		"2026-05-01T10:00:00.000000001Z GET /a",
		"2026-05-01T10:00:01.000000001Z boot",
		"2026-05-01T10:00:02.000000001Z GET /b",
		"2026-05-01T10:00:03.000000001Z GET /c",
		"2026-05-01T10:00:04.000000001Z done",
		"no stamp here",
	}
	for _, tc := range []struct {
		grep string
		tail int
		want []string
	}{
		{"", 0, []string{"GET /a", "boot", "GET /b", "GET /c", "done", "no stamp here"}},
		{"", 2, []string{"done", "no stamp here"}},
		{"GET", 2, []string{"GET /b", "GET /c"}},
		{"GET", 0, []string{"GET /a", "GET /b", "GET /c"}},
		{"(?i)BOOT", 5, []string{"boot"}},
		{"nothing", 3, nil},
	} {
		var re *regexp.Regexp
		if tc.grep != "" {
			re = regexp.MustCompile(tc.grep)
		}
		k := newLineKeeper(re, tc.tail)
		// Written in odd pieces, as SSH delivers them.
		w := &lineWriter{line: k.add}
		all := strings.Join(raw, "\n")
		for i := 0; i < len(all); i += 7 {
			_, _ = w.Write([]byte(all[i:min(i+7, len(all))]))
		}
		w.flush()
		var got []string
		for _, l := range k.lines() {
			got = append(got, l.Text)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("grep %q tail %d: %q, want %q", tc.grep, tc.tail, got, tc.want)
		}
	}
	if l := parseLogLine(raw[0]); !l.Time.Equal(time.Date(2026, 5, 1, 10, 0, 0, 1, time.UTC)) {
		t.Errorf("stamp of %q read as %s", raw[0], l.Time)
	}
}

func TestFormatLogsMergesHostsInTimeOrderWithTheirNames(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 5, 1, 10, 0, s, 0, time.UTC) }
	views := []HostLogs{
		{Host: "a:22", Lines: []LogLine{{at(1), "a one"}, {at(3), "a three"}}},
		{Host: "b:22", Lines: []LogLine{{at(2), "b two"}, {Text: "b unstamped"}}},
		{Host: "c:22", Err: context.DeadlineExceeded},
	}
	out, err := FormatLogs(views)
	if err != nil {
		t.Fatal(err)
	}
	want := "a:22 | 2026-05-01T10:00:01.000Z a one\n" +
		"b:22 | 2026-05-01T10:00:02.000Z b two\n" +
		"b:22 | 2026-05-01T10:00:02.000Z b unstamped\n" +
		"a:22 | 2026-05-01T10:00:03.000Z a three\n" +
		"ERROR c:22: context deadline exceeded\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if _, err := FormatLogs(views[2:]); err == nil {
		t.Error("one host that could not be read is not an error")
	}
}

func TestFormatDetailsSaysWhatRuns(t *testing.T) {
	started := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	d := HostDetails{Host: "web1:22", Release: host.Record{Name: "20260501100000-v2", Version: "v2", Image: "r.example/app@sha256:" + strings.Repeat("ab", 32),
		ImageID: "sha256:" + strings.Repeat("cd", 32), Outcome: outcome.ReleaseHealthy, Who: "goship main@abc"},
		Strategy: "blue-green, color green", Digest: "sha256:" + strings.Repeat("ab", 32),
		Container: strings.Repeat("ef", 32), State: "running", Health: "healthy", Image: "sha256:" + strings.Repeat("cd", 32), Matches: true,
		StartedAt: started, Uptime: 90 * time.Minute, Restarts: 2}
	out, err := FormatDetails([]HostDetails{d})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"20260501100000-v2", "digest:    sha256:" + strings.Repeat("ab", 32), "blue-green, color green",
		"running (efefefefefef)", "healthy", "2026-05-01T10:00:00Z (up 1h30m0s)", "restarts:  2"} {
		if !strings.Contains(out, want) {
			t.Errorf("details lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "DRIFT") {
		t.Errorf("a container running the release's image is not drift:\n%s", out)
	}
	fleet, err := FormatDetails([]HostDetails{d, {Host: "web2:22", Err: context.Canceled}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fleet, "web1:22") || !strings.Contains(fleet, "1h30m0s") || !strings.Contains(fleet, "ERROR web2:22: context canceled") {
		t.Errorf("fleet details:\n%s", fleet)
	}
}

// TestBadInputFailsBeforeAnyConnection points every verb at a listener
// that counts connections: bad input must not reach it.
func TestBadInputFailsBeforeAnyConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			_ = c.Close()
		}
	}()
	addr := ln.Addr().(*net.TCPAddr)
	good := Target{SSH: sshconn.Config{Host: "127.0.0.1", Port: addr.Port, User: "deploy"}, App: "web"}
	badApp := good
	badApp.App = "Not An App"
	ctx := context.Background()
	for _, tc := range []struct {
		what string
		run  func() error
		want string
	}{
		{"negative tail", func() error { _, err := Logs(ctx, []Target{good}, LogsOptions{Tail: -3}); return err }, "--tail -3"},
		{"bad grep", func() error { _, err := Logs(ctx, []Target{good}, LogsOptions{Grep: "["}); return err }, "--grep"},
		{"endless follow", func() error { _, err := Logs(ctx, []Target{good}, LogsOptions{Follow: true}); return err }, "--follow-for"},
		{"bad app", func() error { _, err := Logs(ctx, []Target{good, badApp}, LogsOptions{}); return err }, "app name"},
		{"no hosts", func() error { _, err := Details(ctx, nil); return err }, "no hosts"},
		{"empty cmd", func() error { _, err := Exec(ctx, []Target{good}, ExecSpec{Cmd: "  "}); return err }, "--cmd is empty"},
		{"unclosed quote", func() error { _, err := Exec(ctx, []Target{good}, ExecSpec{Cmd: "say 'hi"}); return err }, "unterminated"},
		{"negative timeout", func() error {
			_, err := Exec(ctx, []Target{good}, ExecSpec{Cmd: "x", Timeout: -time.Second})
			return err
		}, "--timeout"},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.what, err, tc.want)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("bad input reached the server: %d connections", n)
	}
}

func TestExecErrorNamesHostReleaseAndCode(t *testing.T) {
	e := &ExecError{Host: "web1:22", Release: "r1", Code: 3, Output: strings.Repeat("noise\n", 30) + "the end\n"}
	msg := e.Error()
	for _, want := range []string{"web1:22", "release r1", "exited with code 3", "the end"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Count(msg, "noise") > 19 {
		t.Errorf("the error carries more than the output's last lines:\n%s", msg)
	}
	to := (&ExecError{Host: "h", Release: "r", Code: -1, TimedOut: true, Limit: 2 * time.Second}).Error()
	if !strings.Contains(to, "2s deadline") {
		t.Errorf("timeout error: %s", to)
	}
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 10}
	for i := 0; i < 50; i++ {
		_, _ = b.Write([]byte("0123456789"[i%10 : i%10+1]))
	}
	if got := b.String(); !strings.HasSuffix(got, "0123456789") || !strings.Contains(got, "first 40 bytes") {
		t.Errorf("tail buffer: %q", got)
	}
}
