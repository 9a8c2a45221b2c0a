package ops

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
)

// After a blue-green switch, logs and details read the serving color's
// container, not the stopped one kept for rollbacks.
func TestLogsAndDetailsReadTheServingColor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	h := w.newHost(t, "opsbg")
	px := h.proxy(t)
	bg := func(version string) compose.Spec {
		s := h.spec(version)
		s.Strategy, s.Proxy = compose.StrategyBlueGreen, px
		return s
	}
	h.deploy(t, bg("v1"))
	h.get(t, "/marker-v1")
	r2 := h.deploy(t, bg("v2"))
	h.get(t, "/marker-v2")
	targets := []Target{h.target()}

	views := logsUntil(t, targets, LogsOptions{Tail: DefaultTail}, func(v []HostLogs) bool {
		return containsAny(texts(v[0]), "GET /marker-v2")
	})
	v := views[0]
	if v.Strategy != "blue-green, color green" || v.Release != r2.Release {
		t.Errorf("logs read release %s (%s), want %s (blue-green, color green)", v.Release, v.Strategy, r2.Release)
	}
	lines := texts(v)
	if !containsAny(lines, "opsapp v2 listening") || containsAny(lines, "opsapp v1") || containsAny(lines, "marker-v1") {
		t.Errorf("logs are not the serving (green, v2) container's:\n%s", strings.Join(lines, "\n"))
	}
	out, err := FormatLogs(views)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, h.target().Host()+" | ") {
			t.Errorf("line without its host: %q", l)
		}
	}

	// --grep filters, then --tail keeps the last matches.
	for i := 1; i <= 5; i++ {
		h.get(t, fmt.Sprintf("/n%d", i))
	}
	logsUntil(t, targets, LogsOptions{Grep: `GET /n\d`, Tail: 2}, func(v []HostLogs) bool {
		got := texts(v[0])
		return len(got) == 2 && strings.HasSuffix(got[0], "GET /n4") && strings.HasSuffix(got[1], "GET /n5")
	})
	logsUntil(t, targets, LogsOptions{Tail: 1}, func(v []HostLogs) bool {
		got := texts(v[0])
		return len(got) == 1 && strings.HasSuffix(got[0], "GET /n5")
	})
	views, err = Logs(context.Background(), targets, LogsOptions{Grep: "no line says this", Tail: 0})
	if err != nil || views[0].Err != nil || len(views[0].Lines) != 0 {
		t.Errorf("a grep nothing matches: %v %+v", err, views)
	}

	// Crash the serving app: docker restarts it, and details count it.
	green := h.servingID(t, h.app+"-green")
	var pid int
	if _, err := fmt.Sscan(w.docker.Run(t, nil, "inspect", "--format", "{{.State.Pid}}", green), &pid); err != nil || pid == 0 {
		t.Fatalf("pid of %s: %v", green, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the app (pid %d): %v", pid, err)
	}
	var d HostDetails
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds, err := Details(context.Background(), targets)
		if err != nil {
			t.Fatal(err)
		}
		d = ds[0]
		if d.Err != nil {
			t.Fatal(d.Err)
		}
		if d.Restarts == 1 && d.State == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker never restarted the killed app: %+v", d)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if d.Release.Name != r2.Release || d.Strategy != "blue-green, color green" {
		t.Errorf("details: release %s strategy %q, want %s blue-green, color green", d.Release.Name, d.Strategy, r2.Release)
	}
	if want := w.images["v2"].DigestStr(); d.Digest != want {
		t.Errorf("details: digest %q, want %q", d.Digest, want)
	}
	if d.Container != green || !d.Matches {
		t.Errorf("details: container %s (matches %v), want the green one %s", d.Container, d.Matches, green)
	}
	if d.StartedAt.IsZero() || d.Uptime < 0 || d.Uptime > time.Minute {
		t.Errorf("details: started %s, up %s: not the restart a moment ago", d.StartedAt, d.Uptime)
	}
	text, err := FormatDetails([]HostDetails{d})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{r2.Release, w.images["v2"].DigestStr(), "blue-green, color green", "restarts:  1"} {
		if !strings.Contains(text, want) {
			t.Errorf("details lack %q:\n%s", want, text)
		}
	}
}

// A fleet's logs carry each line's host; --since and --follow select by
// time.
func TestLogsOfAFleetNameEachHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	h1, h2 := w.newHost(t, "opsf"), w.newHost(t, "opsf")
	h1.deploy(t, h1.spec("v1"))
	h2.deploy(t, h2.spec("v2"))
	h1.get(t, "/from-one")
	h2.get(t, "/from-two")
	targets := []Target{h1.target(), h2.target()}
	one, two := h1.target().Host(), h2.target().Host()

	views := logsUntil(t, targets, LogsOptions{Tail: 10}, func(v []HostLogs) bool {
		return containsAny(texts(v[0]), "/from-one") && containsAny(texts(v[1]), "/from-two")
	})
	out, err := FormatLogs(views)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(l, one+" | "):
			if strings.Contains(l, "v2") || strings.Contains(l, "/from-two") {
				t.Errorf("host one shows host two's line: %q", l)
			}
		case strings.HasPrefix(l, two+" | "):
			if strings.Contains(l, "v1") || strings.Contains(l, "/from-one") {
				t.Errorf("host two shows host one's line: %q", l)
			}
		default:
			t.Errorf("line without its host: %q", l)
		}
	}

	// --since: only what came after.
	time.Sleep(1100 * time.Millisecond)
	since := time.Now().UTC()
	h1.get(t, "/after-since")
	views = logsUntil(t, targets, LogsOptions{Since: since.Format(time.RFC3339Nano)}, func(v []HostLogs) bool {
		return containsAny(texts(v[0]), "/after-since")
	})
	if got := texts(views[0]); len(got) != 1 || len(views[1].Lines) != 0 {
		t.Errorf("since %s: host one %q, host two %q; want only /after-since", since, got, texts(views[1]))
	}

	// --follow: lines that come while it follows, and it ends on time.
	const window = 3 * time.Second
	go func() {
		time.Sleep(time.Second)
		_, _ = h1.fetch("/while-following") // not on the test goroutine: no t here
	}()
	start := time.Now()
	var live []string
	var liveAt time.Duration
	views, err = Logs(context.Background(), targets, LogsOptions{Follow: true, For: window, Grep: "while-following",
		Live: func(host string, l LogLine) {
			live, liveAt = append(live, l.Format(host)), time.Since(start)
		}})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took < window || took > window+20*time.Second {
		t.Errorf("a %s follow took %s", window, took)
	}
	if views[0].Err != nil || views[1].Err != nil {
		t.Fatalf("follow: %v; %v", views[0].Err, views[1].Err)
	}
	if got := texts(views[0]); len(got) != 1 || !strings.Contains(got[0], "/while-following") || len(views[1].Lines) != 0 {
		t.Errorf("follow saw host one %q, host two %q; want the one request made while it followed", got, texts(views[1]))
	}
	// Shown as it came, not when the follow ended.
	if len(live) != 1 || !strings.HasPrefix(live[0], views[0].Host+" | ") || !strings.Contains(live[0], "/while-following") {
		t.Errorf("live lines %q, want the one request, prefixed with its host", live)
	}
	if liveAt >= window {
		t.Errorf("the line made 1 s into a %s follow was shown after %s: at the end, not as it came", window, liveAt)
	}
}
