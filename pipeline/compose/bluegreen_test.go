package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// proxyWorld is a world with its own proxy: its own compose project,
// network and directory, so parallel tests never share one.
type proxyWorld struct {
	*world
	proxy Proxy
}

func newProxyWorld(t *testing.T) *proxyWorld {
	t.Helper()
	w := newWorld(t)
	name := fmt.Sprintf("gsproxy%d", testworld.FreePort(t))
	t.Cleanup(func() { w.docker.RemoveProxy(name) })
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ids, _ := w.docker.Try(nil, "ps", "-aq", "--filter", "label=com.docker.compose.project="+name)
		for _, id := range strings.Fields(ids) {
			logs, _ := testworld.Run(context.Background(), nil, nil, "sh", "-c", "docker logs --tail 40 "+id+" 2>&1")
			t.Logf("proxy container %s:\n%s", id, logs)
		}
	})
	return &proxyWorld{world: w, proxy: Proxy{
		Name: name, Root: w.srv.AppRoot + "/" + name, Image: testworld.ProxyImage(t, w.docker), Drain: 10 * time.Second,
	}}
}

// proxyReloads counts the config loads the proxy's Caddies logged.
func (w *proxyWorld) proxyReloads(t *testing.T) int {
	t.Helper()
	n := 0
	for _, id := range strings.Fields(w.docker.Run(t, nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+w.proxy.Name)) {
		logs, err := testworld.Run(context.Background(), nil, nil, "sh", "-c", "docker logs "+id+" 2>&1")
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(logs, `"msg":"load complete"`)
	}
	return n
}

// bgApp is a fresh app whose color projects are removed when the test ends.
func (w *proxyWorld) bgApp(t *testing.T, prefix string) (string, int) {
	t.Helper()
	app, port := w.app(t, prefix)
	for _, c := range []string{ColorBlue, ColorGreen} {
		t.Cleanup(func() { w.docker.RemoveComposeProject(app + "-" + c) })
	}
	return app, port
}

func (w *proxyWorld) bgSpec(app string, port int, version string) Spec {
	s := w.spec(app, port, version)
	s.Strategy, s.Proxy = StrategyBlueGreen, w.proxy
	s.Health.Settle = time.Second
	return s
}

// slowRequests keeps a 2 s request in flight from start until stop, each
// started 250 ms after the previous one, and returns what they answered.
type slowRequests struct {
	url   string
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	calls []slowCall
}

type slowCall struct {
	start, end time.Time
	status     string
	body       string
}

func startSlow(port int) *slowRequests {
	s := &slowRequests{url: fmt.Sprintf("http://127.0.0.1:%d/slow?d=2s", port), stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				c := slowCall{start: time.Now()}
				if resp, err := client.Get(s.url); err != nil {
					c.status = err.Error()
				} else {
					b, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					c.status, c.body = resp.Status, strings.TrimSpace(string(b))
				}
				c.end = time.Now()
				s.mu.Lock()
				s.calls = append(s.calls, c)
				s.mu.Unlock()
			}()
			time.Sleep(250 * time.Millisecond)
		}
	}()
	return s
}

// finish waits for every request and checks each answered 200, and that
// at least one was answered by from after to was serving (so it was in
// flight across the switch).
func (s *slowRequests) finish(t *testing.T, port int, from, to string) {
	t.Helper()
	close(s.stop)
	s.wg.Wait()
	var across int
	for _, c := range s.calls {
		if c.status != "200 OK" {
			t.Errorf("slow request started %s: %s", c.start.Format("15:04:05.000"), c.status)
		}
		if c.body == from && c.end.After(s.switched(t, port, to)) {
			across++
		}
	}
	if across == 0 {
		t.Errorf("no 2 s request to %s was in flight across the switch to %s (%d requests)", from, to, len(s.calls))
	}
}

// lastEnd is when the last request answered by body ended.
func (s *slowRequests) lastEnd(body string) time.Time {
	var last time.Time
	for _, c := range s.calls {
		if c.body == body && c.end.After(last) {
			last = c.end
		}
	}
	return last
}

// switched is when the last request served by to started: to served
// from then at the latest.
func (s *slowRequests) switched(t *testing.T, port int, to string) time.Time {
	t.Helper()
	first := time.Time{}
	for _, c := range s.calls {
		if c.body == to && (first.IsZero() || c.start.Before(first)) {
			first = c.start
		}
	}
	if first.IsZero() {
		t.Fatalf("no slow request was answered by %s", to)
	}
	return first
}

func TestBlueGreenUpgradeBrokenReleaseAndRollbackDropNothing(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "bg")
	ctx := context.Background()
	dir := w.srv.AppRoot + "/" + app
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)

	r1, err := Deploy(ctx, c, w.bgSpec(app, port, "v1"))
	if err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after v1: /version = %q", got)
	}
	// v1's release.json as the goship before strategies owned their part
	// wrote it (color and proxy at the top level): the deploy of v2 and
	// the rollback to v1 read it still.
	asWrittenBefore(t, filepath.Join(dir, "releases", r1.Release, "release.json"))

	blue := w.docker.Run(t, nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+app+"-blue")
	since := time.Now()
	loads := w.proxyReloads(t)
	p, slow := testworld.StartProber(url), startSlow(port)
	r2, err := Deploy(ctx, c, w.bgSpec(app, port, "v2"))
	if err != nil {
		t.Fatalf("deploy v2: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	slow.finish(t, port, "v1", "v2")
	p.Finish(t, "v1 -> v2", 200)
	// The drain: v1 is sent SIGTERM only after its last request ended
	// (not merely before its own graceful shutdown would have ended it).
	kill := w.docker.Run(t, nil, "events", "--since", fmt.Sprint(since.Unix()), "--until", fmt.Sprint(time.Now().Unix()),
		"--filter", "container="+blue, "--filter", "event=kill", "--format", "{{.TimeNano}}")
	var killNano int64
	if _, err := fmt.Sscan(kill, &killNano); err != nil {
		t.Fatalf("no kill event for v1's container %s: %q", blue, kill)
	}
	if last := slow.lastEnd("v1"); time.Unix(0, killNano).Before(last.Add(-50 * time.Millisecond)) {
		t.Errorf("v1 was stopped at %s, before its last request ended at %s", time.Unix(0, killNano).Format("15:04:05.000"), last.Format("15:04:05.000"))
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("after v2: /version = %q", got)
	}

	p = testworld.StartProber(url)
	_, err = Deploy(ctx, c, w.bgSpec(app, port, "v3"))
	p.Finish(t, "broken v3", 200)
	if err == nil || !strings.Contains(err.Error(), "failed health gate") || !strings.Contains(err.Error(), r2.Release+" kept serving") {
		t.Fatalf("deploy of broken v3: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("after failed v3: /version = %q, want v2", got)
	}
	// v1 ran blue, v2 green: v3 started as blue (replacing v1's stopped
	// container) and was removed.
	if out := w.docker.Run(t, nil, "ps", "-aq", "--filter", "label=com.docker.compose.project="+app+"-blue"); out != "" {
		t.Errorf("the failed v3 left its container behind: %s", out)
	}

	p, slow = testworld.StartProber(url), startSlow(port)
	rb, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: dir, Who: "test", Health: host.Health{Timeout: 20 * time.Second, Interval: 250 * time.Millisecond, Settle: time.Second}})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	slow.finish(t, port, "v2", "v1")
	p.Finish(t, "rollback v2 -> v1", 200)
	if got := version(t, port); got != "v1" || rb.Release != r1.Release {
		t.Fatalf("after rollback: /version = %q, release %s (want v1, %s)", got, rb.Release, r1.Release)
	}
	if n := w.proxyReloads(t); n != loads {
		t.Errorf("the proxy reloaded its config %d times during deploys and a rollback; a switch must not reload", n-loads)
	}

	// releases, status and deploys.log say how each release went live.
	recs, err := Releases(ctx, c, app, dir)
	if err != nil {
		t.Fatal(err)
	}
	table := FormatReleases(recs)
	for _, want := range []string{"blue-green, color blue", "blue-green, color green"} {
		if !strings.Contains(table, want) {
			t.Errorf("releases lack %q:\n%s", want, table)
		}
	}
	st, err := Status(ctx, c, app, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	// v1 was blue, v2 green; the rollback ran v1 in the color not serving.
	if st.Release.Name != r1.Release || st.Strategy != "blue-green, color blue" || st.Container != "running" || !st.Matches || st.Proxy == nil {
		t.Fatalf("status = %+v", st)
	}
	log, err := os.ReadFile(filepath.Join(dir, "deploys.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), `"strategy":"blue-green, color `); n < 6 || !strings.Contains(string(log), `"strategy":"blue-green, color green"`) {
		t.Errorf("deploys.log does not record strategy and color:\n%s", log)
	}
	// The color that stopped serving is stopped, not removed.
	if out := w.docker.Run(t, nil, "ps", "-a", "--format", "{{.State}}", "--filter", "label=com.docker.compose.project="+app+"-green"); out != "exited" {
		t.Errorf("green after the rollback: %q, want one exited container", out)
	}
}

func TestBlueGreenSurvivesProxyRestartedByHand(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "bgr")
	ctx := context.Background()
	if _, err := Deploy(ctx, c, w.bgSpec(app, port, "v1")); err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	id := w.docker.Run(t, nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+w.proxy.Name)
	w.docker.Run(t, nil, "restart", id)
	got := ""
	for deadline := time.Now().Add(10 * time.Second); got != "v1" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = version(t, port)
	}
	if got != "v1" {
		t.Fatalf("after the restart: /version = %q, want v1", got)
	}
	if _, err := Deploy(ctx, c, w.bgSpec(app, port, "v2")); err != nil {
		t.Fatalf("deploy v2 after the proxy restart: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("after v2: /version = %q", got)
	}
	// Stopped by hand, the proxy is started again by the next deploy.
	w.docker.Run(t, nil, "stop", id)
	if _, err := Deploy(ctx, c, w.bgSpec(app, port, "v1")); err != nil {
		t.Fatalf("deploy v1 with the proxy stopped: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after v1: /version = %q", got)
	}

	// The rollback to v2 starts its kept (stopped) green container again
	// rather than creating one.
	green := "label=com.docker.compose.project=" + app + "-green"
	kept := w.docker.Run(t, nil, "ps", "-aq", "--filter", green)
	if _, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: w.srv.AppRoot + "/" + app, Health: host.Health{Timeout: 20 * time.Second, Interval: 250 * time.Millisecond, Settle: time.Second}}); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got, now := version(t, port), w.docker.Run(t, nil, "ps", "-q", "--filter", green); got != "v2" || now != kept || kept == "" {
		t.Fatalf("after the rollback: /version = %q, green container %q (kept: %q)", got, now, kept)
	}

	// A new proxy image replaces the port's Caddy on the next deploy. The
	// deploy names nothing else: the app stays blue-green behind the
	// proxy it has.
	next := w.proxy.Image + "-next"
	w.docker.Run(t, nil, "tag", w.proxy.Image, next)
	t.Cleanup(func() { _, _ = w.docker.Try(nil, "image", "rm", next) })
	spec := w.spec(app, port, "v1")
	spec.Proxy = Proxy{Image: next}
	if _, err := Deploy(ctx, c, spec); err != nil {
		t.Fatalf("deploy with a new proxy image: %v", err)
	}
	if got, img := version(t, port), w.docker.Run(t, nil, "ps", "--format", "{{.Image}}", "--filter", "label=com.docker.compose.project="+w.proxy.Name); got != "v1" || img != next {
		t.Fatalf("after the proxy upgrade: /version = %q, proxy runs %q (want v1, %s)", got, img, next)
	}
}

func TestBlueGreenProxyDirNotWritableIsExplained(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "bgw")
	spec := w.bgSpec(app, port, "v1")
	spec.Proxy.Root = "/opt/goship-test-unwritable/" + w.proxy.Name
	_, err := Deploy(context.Background(), c, spec)
	if err == nil || !strings.Contains(err.Error(), "cannot write "+spec.Proxy.Root) || !strings.Contains(err.Error(), "sudo install -d") {
		t.Fatalf("deploy with a proxy dir the deploy user cannot create: %v", err)
	}
}

func TestBlueGreenProxyPortTakenIsNamed(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "bgt")
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	_, err = Deploy(context.Background(), c, w.bgSpec(app, port, "v1"))
	want := fmt.Sprintf("proxy port %d on %s is taken by another process", port, c.Target())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("deploy with the port taken: %v\nwant it to say %q", err, want)
	}
	// Nothing started: no app container, no proxy container.
	for _, project := range []string{app + "-blue", w.proxy.Name} {
		if out := w.docker.Run(t, nil, "ps", "-aq", "--filter", "label=com.docker.compose.project="+project); out != "" {
			t.Errorf("%s has containers after the refused deploy: %s", project, out)
		}
	}
}

func TestBlueGreenAppsShareTheProxyUndisturbed(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	ctx := context.Background()
	// a and b share a port, b by host name; c has a port of its own.
	a, port := w.bgApp(t, "bga")
	b, _ := w.bgApp(t, "bgb")
	cApp, cPort := w.bgApp(t, "bgc")
	specs := map[string]func(v string) Spec{
		a: func(v string) Spec { return w.bgSpec(a, port, v) },
		b: func(v string) Spec {
			s := w.bgSpec(b, port, v)
			s.Proxy.Host = "b.test"
			return s
		},
		cApp: func(v string) Spec { return w.bgSpec(cApp, cPort, v) },
	}
	urls := map[string][2]string{
		a:    {fmt.Sprintf("http://127.0.0.1:%d/healthz", port), ""},
		b:    {fmt.Sprintf("http://127.0.0.1:%d/healthz", port), "b.test"},
		cApp: {fmt.Sprintf("http://127.0.0.1:%d/healthz", cPort), ""},
	}
	deployWhileOthersProbed := func(app, v string, live []string) {
		var probes []*testworld.Prober
		for _, o := range live {
			probes = append(probes, testworld.StartProber(urls[o][0], testworld.ProbeHost(urls[o][1])))
		}
		if _, err := Deploy(ctx, c, specs[app](v)); err != nil {
			t.Fatalf("deploy %s %s: %v", app, v, err)
		}
		for i, o := range live {
			probes[i].Finish(t, fmt.Sprintf("%s while %s deployed %s", o, app, v), 200)
		}
	}
	deployWhileOthersProbed(a, "v1", nil)
	// b joins a's port by host name: a route change, so a's Caddy reloads
	// once (see proxy.go for why a reload may drop a request).
	deployWhileOthersProbed(b, "v1", nil)
	deployWhileOthersProbed(cApp, "v1", []string{a, b}) // a new port: a new Caddy
	deployWhileOthersProbed(a, "v2", []string{b, cApp})
	deployWhileOthersProbed(b, "v2", []string{a, cApp})
	deployWhileOthersProbed(cApp, "v2", []string{a, b})
	hostVersion := func(url, host string) string {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(body))
	}
	for app, u := range urls {
		if got := hostVersion(strings.Replace(u[0], "/healthz", "/version", 1), u[1]); got != "v2" {
			t.Errorf("%s: /version = %q, want v2", app, got)
		}
	}
	// c moves to another port: its old port's Caddy goes, a and b are
	// undisturbed.
	newPort := testworld.FreePort(t)
	specs[cApp] = func(v string) Spec { return w.bgSpec(cApp, newPort, v) }
	deployWhileOthersProbed(cApp, "v1", []string{a, b})
	if got := version(t, newPort); got != "v1" {
		t.Errorf("c on its new port: /version = %q", got)
	}
	if got := version(t, cPort); !strings.HasPrefix(got, "down:") {
		t.Errorf("c's old port still answers: %q", got)
	}
	// Two apps without host names cannot share a port: refused up front.
	d, _ := w.bgApp(t, "bgd")
	if _, err := Deploy(ctx, c, w.bgSpec(d, port, "v1")); err == nil || !strings.Contains(err.Error(), "already serves app "+a) {
		t.Fatalf("deploy of a second catch-all app on port %d: %v", port, err)
	}
}

func TestMigrationRecreateToBlueGreenAndBack(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "mig")
	ctx := context.Background()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	recreate := func(v string) Spec {
		s := w.spec(app, port, v)
		s.Strategy = StrategyRecreate
		s.Health.Settle = time.Second
		return s
	}
	if _, err := Deploy(ctx, c, recreate("v1")); err != nil {
		t.Fatalf("deploy v1 (recreate): %v", err)
	}
	gap := func(what string, deploy func() error) {
		p := testworld.StartProber(url)
		if err := deploy(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		p.Halt(200)
		if p.Total() < 200 {
			t.Errorf("%s: only %d requests ran within a minute, want at least 200", what, p.Total())
		}
		// The one switch-over: the app frees the port, the other side takes
		// it. Its length is docker's stop and start (about a second on an
		// idle host, several under a loaded CI machine's parallel tests);
		// what must hold anywhere is that there is one gap, and it ends.
		window := p.Window()
		t.Logf("%s: %d of %d requests failed in %d outage(s), switch-over window %s", what, len(p.Failures()), p.Total(), p.Outages(), window)
		if n := p.Outages(); n > 1 {
			t.Errorf("%s: %d separate outages, want one switch-over: %v", what, n, p.Failures()[:min(len(p.Failures()), 5)])
		}
		if window > 20*time.Second {
			t.Errorf("%s: switch-over window %s, want one short gap", what, window)
		}
	}
	gap("recreate -> blue-green", func() error {
		_, err := Deploy(ctx, c, w.bgSpec(app, port, "v2"))
		return err
	})
	if got := version(t, port); got != "v2" {
		t.Fatalf("after the move to blue-green: /version = %q", got)
	}
	gap("blue-green -> recreate", func() error {
		_, err := Deploy(ctx, c, recreate("v1"))
		return err
	})
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the move back: /version = %q", got)
	}
	// A rollback across strategies is refused before anything changes.
	_, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: w.srv.AppRoot + "/" + app})
	if !errors.Is(err, errCrossStrategy) || !strings.Contains(err.Error(), "with-recreate") {
		t.Fatalf("rollback to the blue-green release from recreate: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the refused rollback: /version = %q", got)
	}
	for _, project := range []string{app + "-blue", app + "-green", w.proxy.Name} {
		if out := w.docker.Run(t, nil, "ps", "-aq", "--filter", "label=com.docker.compose.project="+project); out != "" {
			t.Errorf("%s still has containers after the move back: %s", project, out)
		}
	}
}

// asWrittenBefore rewrites a release.json in the form the goship before
// strategies owned their part wrote: the strategy's fields at the top
// level.
func asWrittenBefore(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var top, state map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(top["strategy_state"], &state); err != nil || len(state) == 0 {
		t.Fatalf("%s has no strategy part: %s", file, data)
	}
	delete(top, "strategy_state")
	for k, v := range state {
		top[k] = v
	}
	if data, err = json.MarshalIndent(top, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
