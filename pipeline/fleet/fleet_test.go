package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// The scenarios share one registry and run one after another: each moves
// several hosts on the one dockerd of this machine.
func TestFleet(t *testing.T) {
	w := newWorld(t)
	t.Run("rolling with a canary", func(t *testing.T) { testRolling(t, w) })
	t.Run("a host fails its gate", func(t *testing.T) { testGateFailure(t, w) })
	t.Run("the canary fails its check", func(t *testing.T) { testCanaryFailure(t, w) })
	t.Run("a host is down at preflight", func(t *testing.T) { testHostDown(t, w) })
	t.Run("a host is locked by another deploy", func(t *testing.T) { testHostLocked(t, w) })
	t.Run("a connection is cut mid-rollout", func(t *testing.T) { testConnectionCut(t, w) })
	t.Run("blue-green: a host fails, no request fails", func(t *testing.T) { testBlueGreen(t, w) })
}

// Three hosts move to v2 one at a time after a canary; at no moment are
// two hosts failing requests at once.
func testRolling(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	w.deployAll(t, hs, cfgs, "v1")
	probers := startProbers(hs)

	plan := w.plan(hs, cfgs, "v2")
	var seenAtCheck []string
	plan.Canary = &Canary{Pause: 500 * time.Millisecond, Check: func(_ context.Context, h sshconn.Config) error {
		if h.Addr() != cfgs[0].Addr() {
			return fmt.Errorf("canary check on %s, want the first host", h.Addr())
		}
		for _, x := range hs {
			seenAtCheck = append(seenAtCheck, version(x.port))
		}
		// Host 3's connection (and so its lock) drops while it waits for
		// its turn: it must be locked again before it moves.
		if hs[2].srv.CutConnections(t) == 0 {
			return errors.New("no connection to host 3 to cut")
		}
		return nil
	}}
	var log strings.Builder
	plan.Log = &log
	rep, err := Run(context.Background(), plan)
	for _, p := range probers {
		p.Halt(0)
	}
	t.Logf("\n%s\nprogress:\n%s", FormatReport(rep), log.String())
	if err != nil {
		t.Fatalf("rolling deploy: %v", err)
	}
	if want := cfgs[2].Addr() + ": connection lost while waiting; reconnected and locked again"; !strings.Contains(log.String(), want) {
		t.Errorf("progress lacks %q", want)
	}
	if strings.Join(seenAtCheck, ",") != "v2,v1,v1" {
		t.Fatalf("at the canary check the hosts served %v, want only the canary on v2", seenAtCheck)
	}
	if rep.Outcome != outcome.Succeeded || rep.Mixed() {
		t.Fatalf("outcome %s, mixed %v", rep.Outcome, rep.Mixed())
	}
	for _, h := range rep.Hosts {
		if h.Outcome != outcome.Succeeded || h.Previous == "" || h.New == "" || h.Serving != h.New || h.Took <= 0 {
			t.Errorf("host line %+v", h)
		}
	}
	wantVersions(t, hs, "v2")

	var windows [][]outage
	for i, p := range probers {
		t.Logf("host %d: %d of %d probes failed", i+1, len(p.Failures()), p.Total())
		windows = append(windows, outages(p))
	}
	for i := range windows {
		for j := i + 1; j < len(windows); j++ {
			for _, a := range windows[i] {
				for _, b := range windows[j] {
					if a.from.Before(b.to) && b.from.Before(a.to) {
						t.Errorf("hosts %d and %d were failing at the same time (%s and %s)", i+1, j+1,
							a.from.Format("15:04:05.000"), b.from.Format("15:04:05.000"))
					}
				}
			}
		}
	}

	// The fleet reads as in step; one host sent back to v1 reads as drift.
	// Each host here has its own app name (they share one dockerd), so
	// each is read on its own and the views are judged together.
	statusOf := func() []HostView {
		var all []HostView
		for i, h := range hs {
			v := Status(context.Background(), cfgs[i:i+1], h.app, h.srv.AppRoot+"/"+h.app, "")
			all = append(all, v...)
		}
		return all
	}
	if got := FormatStatus(statusOf()); !strings.Contains(got, "IN STEP: all 3 hosts run v2") {
		t.Fatalf("status after the rollout:\n%s", got)
	}
	c, err := sshconn.Dial(context.Background(), cfgs[2])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if _, err := compose.Rollback(context.Background(), c, compose.RollbackSpec{App: hs[2].app, AppDir: hs[2].srv.AppRoot + "/" + hs[2].app, Health: plan.Spec.Health}); err != nil {
		t.Fatal(err)
	}
	got := FormatStatus(statusOf())
	want := fmt.Sprintf("DRIFT: 3 hosts run 2 different releases:\n  v2 (%s): %s, %s\n  v1 (%s): %s\n", w.releases["v2"], cfgs[0].Addr(), cfgs[1].Addr(), w.releases["v1"], cfgs[2].Addr())
	if !strings.Contains(got, want) {
		t.Fatalf("status with one host on v1:\n%s\nwant it to contain:\n%s", got, want)
	}
	t.Logf("\n%s", got)
}

// A host whose v2 fails its gate (its env breaks it) stops the run: the
// host before it in the batch goes back to v1, the host after it is never
// touched, and every host serves v1.
func testGateFailure(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	w.deployAll(t, hs, cfgs, "v1")
	before := releaseCount(t, hs[2])
	probers := startProbers(hs)

	plan := w.plan(hs, cfgs, "v2")
	plan.Parallel = 2
	forHost := plan.ForHost
	plan.ForHost = func(cfg sshconn.Config, spec compose.Spec) compose.Spec {
		spec = forHost(cfg, spec)
		if cfg.Addr() == cfgs[1].Addr() {
			spec.Env = []byte("HELLO_BROKEN=1\n")
		}
		return spec
	}
	rep, err := Run(context.Background(), plan)
	for _, p := range probers {
		p.Halt(0)
	}
	t.Logf("\n%s", FormatReport(rep))
	if err == nil {
		t.Fatal("a fleet with a failing host succeeded")
	}
	for _, want := range []string{"fleet deploy stopped: " + cfgs[1].Addr() + ": deploy of", "failed health gate", "rolled back to their previous releases: " + cfgs[0].Addr(), "untouched: " + cfgs[2].Addr()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	h1, h2, h3 := reportByHost(t, rep, cfgs[0]), reportByHost(t, rep, cfgs[1]), reportByHost(t, rep, cfgs[2])
	if h1.Outcome != outcome.RolledBack || h1.Serving != h1.Previous || h1.New == "" || h1.Error != "" {
		t.Errorf("host 1: %+v", h1)
	}
	// Its own gate failed, and its deploy brought v1 back.
	if h2.Outcome != outcome.RolledBack || h2.Serving != h2.Previous || h2.New == "" || h2.Error == "" {
		t.Errorf("host 2: %+v", h2)
	}
	if h3.Outcome != outcome.Unchanged || h3.New != "" {
		t.Errorf("host 3: %+v", h3)
	}
	if rep.Outcome != outcome.RolledBack || rep.Mixed() {
		t.Errorf("outcome %s, mixed %v", rep.Outcome, rep.Mixed())
	}
	wantVersions(t, hs, "v1")
	if n := releaseCount(t, hs[2]); n != before {
		t.Errorf("the untouched host has %d releases, had %d", n, before)
	}
	for i, p := range probers {
		t.Logf("host %d: %d of %d probes failed", i+1, len(p.Failures()), p.Total())
	}
	if n := len(probers[2].Failures()); n > 0 {
		t.Errorf("the untouched host failed %d requests", n)
	}
}

// A canary that fails its check after the pause goes back to v1; no other
// host moves.
func testCanaryFailure(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	w.deployAll(t, hs, cfgs, "v1")
	plan := w.plan(hs, cfgs, "v2")
	plan.Canary = &Canary{Pause: 300 * time.Millisecond, Check: func(context.Context, sshconn.Config) error {
		return errors.New("error rate 12% on the canary")
	}}
	rep, err := Run(context.Background(), plan)
	t.Logf("\n%s", FormatReport(rep))
	if err == nil || !strings.Contains(err.Error(), cfgs[0].Addr()+": canary: check: error rate 12%") {
		t.Fatalf("err = %v", err)
	}
	if h := reportByHost(t, rep, cfgs[0]); h.Outcome != outcome.RolledBack || h.Serving != h.Previous {
		t.Errorf("canary: %+v", h)
	}
	for _, c := range cfgs[1:] {
		if h := reportByHost(t, rep, c); h.Outcome != outcome.Unchanged || h.New != "" {
			t.Errorf("%s: %+v", c.Addr(), h)
		}
	}
	wantVersions(t, hs, "v1")
}

// An unreachable host stops the run before anything changed anywhere,
// and the hosts that were locked are let go.
func testHostDown(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	w.deployAll(t, hs, cfgs, "v1")
	counts := []int{releaseCount(t, hs[0]), releaseCount(t, hs[2])}
	hs[1].srv.Stop(t)

	rep, err := Run(context.Background(), w.plan(hs, cfgs, "v2"))
	var pre *PreflightError
	if !errors.As(err, &pre) || len(pre.Failed) != 1 {
		t.Fatalf("err = %v, want a PreflightError for one host", err)
	}
	for _, want := range []string{"1 of 3 hosts not ready; nothing was changed on any host", cfgs[1].Addr() + ": ssh " + cfgs[1].Addr() + " unreachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, h := range rep.Hosts {
		if h.Outcome != outcome.Unchanged || h.New != "" {
			t.Errorf("host line %+v", h)
		}
	}
	// Nothing moved anywhere: every host serves what it had (Unchanged),
	// which the run used to report as Failed.
	if rep.Outcome != outcome.Unchanged {
		t.Errorf("outcome %s", rep.Outcome)
	}
	wantVersions(t, []*server{hs[0], hs[2]}, "v1")
	if got := []int{releaseCount(t, hs[0]), releaseCount(t, hs[2])}; got[0] != counts[0] || got[1] != counts[1] {
		t.Errorf("release counts %v, were %v", got, counts)
	}
	wantUnlocked(t, w, hs, cfgs, 0, 2)
}

// A host whose lock another deploy holds stops the run, naming the holder;
// nothing changes anywhere.
func testHostLocked(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	w.deployAll(t, hs, cfgs, "v1")
	counts := []int{releaseCount(t, hs[0]), releaseCount(t, hs[1])}
	plan := w.plan(hs, cfgs, "v2")

	c, err := sshconn.Dial(context.Background(), cfgs[2])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	other := plan.ForHost(cfgs[2], plan.Spec)
	other.Who = "alice@laptop"
	held, err := compose.Prepare(context.Background(), c, other)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	rep, err := Run(context.Background(), plan)
	var pre *PreflightError
	if !errors.As(err, &pre) || len(pre.Failed) != 1 || !strings.HasPrefix(pre.Failed[0].Error(), cfgs[2].Addr()+": another deploy holds the lock") ||
		!strings.Contains(pre.Failed[0].Error(), "alice@laptop") || !errors.Is(err, host.ErrLocked) {
		t.Fatalf("err = %v, want host 3 locked by alice@laptop", err)
	}
	for _, h := range rep.Hosts {
		if h.Outcome != outcome.Unchanged || h.New != "" {
			t.Errorf("host line %+v", h)
		}
	}
	wantVersions(t, hs, "v1")
	if got := []int{releaseCount(t, hs[0]), releaseCount(t, hs[1])}; got[0] != counts[0] || got[1] != counts[1] {
		t.Errorf("release counts %v, were %v", got, counts)
	}
	wantUnlocked(t, w, hs, cfgs, 0, 1)
}

// A connection cut on host 2 during its gate stops the run: host 1 goes
// back to v1, host 2 is reconnected and its v1 brought back, host 3 is
// never touched.
func testConnectionCut(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	w.deployAll(t, hs, cfgs, "v1")
	plan := w.plan(hs, cfgs, "v2")
	plan.Spec.Health.Settle = 3 * time.Second // a window to cut in

	type result struct {
		rep *Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Run(context.Background(), plan)
		done <- result{rep, err}
	}()
	// Host 2 is in its gate once its container runs v2.
	cut := 0
	for deadline := time.Now().Add(90 * time.Second); cut == 0; time.Sleep(50 * time.Millisecond) {
		v2, _ := w.docker.Try(nil, "image", "inspect", "--format", "{{.Id}}", w.releases["v2"].String())
		id, _ := w.docker.Try(nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+hs[1].app)
		img, _ := w.docker.Try(nil, "inspect", "--format", "{{.Image}}", strings.TrimSpace(id))
		if strings.TrimSpace(v2) != "" && strings.TrimSpace(img) == strings.TrimSpace(v2) {
			time.Sleep(time.Second) // compose up has returned: the gate runs
			if cut = hs[1].srv.CutConnections(t); cut == 0 {
				t.Fatal("no connection to cut on host 2")
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("host 2 never ran v2")
		}
	}
	r := <-done
	t.Logf("cut %d sshd processes\n%s", cut, FormatReport(r.rep))
	if r.err == nil {
		t.Fatal("a run with a cut connection succeeded")
	}
	h1, h2, h3 := reportByHost(t, r.rep, cfgs[0]), reportByHost(t, r.rep, cfgs[1]), reportByHost(t, r.rep, cfgs[2])
	if h1.Outcome != outcome.RolledBack || h1.Serving != h1.Previous {
		t.Errorf("host 1: %+v", h1)
	}
	if h2.Outcome != outcome.RolledBack || h2.Serving != h2.Previous || !strings.Contains(h2.Error, "connection lost mid-deploy") || !strings.Contains(h2.Error, "brought "+h2.Previous+" back") {
		t.Errorf("host 2: %+v", h2)
	}
	if h3.Outcome != outcome.Unchanged || h3.New != "" {
		t.Errorf("host 3: %+v", h3)
	}
	if r.rep.Outcome != outcome.RolledBack {
		t.Errorf("outcome %s", r.rep.Outcome)
	}
	wantVersions(t, hs, "v1")
	// The cut release is recorded as failed, not left pending.
	views := Releases(context.Background(), cfgs[1:2], hs[1].app, hs[1].srv.AppRoot+"/"+hs[1].app)
	if views[0].Err != nil {
		t.Fatal(views[0].Err)
	}
	for _, rec := range views[0].Releases {
		if rec.Name == h2.New && rec.Outcome != outcome.ReleaseFailed {
			t.Errorf("the cut release %s is %s", rec.Name, rec.Outcome)
		}
	}
}

// wantUnlocked checks that the listed hosts' locks were let go.
func wantUnlocked(t *testing.T, w *world, hs []*server, cfgs []sshconn.Config, idx ...int) {
	t.Helper()
	plan := w.plan(hs, cfgs, "v2")
	for _, i := range idx {
		c, err := sshconn.Dial(context.Background(), cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		p, err := compose.Prepare(context.Background(), c, plan.ForHost(cfgs[i], plan.Spec))
		if err != nil {
			t.Errorf("host %d is still locked: %v", i+1, err)
		} else {
			p.Release()
		}
		_ = c.Close()
	}
}

// With blue-green the same run keeps every host serving throughout: the
// hosts moved before the failing one switch back to their old color, the
// failing one never switched, and no probe fails anywhere.
func testBlueGreen(t *testing.T, w *world) {
	hs, cfgs := w.hosts(t, 3)
	proxyImage := testworld.ProxyImage(t, w.docker)
	proxies := map[string]compose.Proxy{}
	for i, h := range hs {
		// Each host gets its own proxy: on a real fleet each server has one.
		name := fmt.Sprintf("fleetpx%d", h.port)
		t.Cleanup(func() { w.docker.RemoveProxy(name) })
		for _, c := range []string{compose.ColorBlue, compose.ColorGreen} {
			t.Cleanup(func() { w.docker.RemoveComposeProject(h.app + "-" + c) })
		}
		proxies[cfgs[i].Addr()] = compose.Proxy{Name: name, Root: h.srv.AppRoot + "/" + name, Image: proxyImage, Drain: 5 * time.Second}
	}
	blueGreen := func(plan Plan, broken string) Plan {
		forHost := plan.ForHost
		plan.Spec.Strategy = compose.StrategyBlueGreen
		plan.Spec.Health.Settle = time.Second
		plan.ForHost = func(cfg sshconn.Config, spec compose.Spec) compose.Spec {
			spec = forHost(cfg, spec)
			spec.Proxy = proxies[cfg.Addr()]
			if cfg.Addr() == broken {
				spec.Env = []byte("HELLO_BROKEN=1\n")
			}
			return spec
		}
		return plan
	}
	v1 := blueGreen(w.plan(hs, cfgs, "v1"), "")
	v1.Parallel = 3
	if rep, err := Run(context.Background(), v1); err != nil {
		t.Fatalf("blue-green v1: %v\n%s", err, FormatReport(rep))
	}
	wantVersions(t, hs, "v1")
	probers := startProbers(hs)
	rep, err := Run(context.Background(), blueGreen(w.plan(hs, cfgs, "v2"), cfgs[2].Addr()))
	for _, p := range probers {
		p.Halt(0)
	}
	t.Logf("\n%s", FormatReport(rep))
	if err == nil {
		t.Fatal("a fleet with a failing host succeeded")
	}
	for i, c := range cfgs {
		h := reportByHost(t, rep, c)
		want := outcome.RolledBack
		if i == 2 {
			want = outcome.Unchanged // its color failed beside the live one
		}
		if h.Outcome != want || h.Serving != h.Previous {
			t.Errorf("host %d: %+v, want %s", i+1, h, want)
		}
	}
	wantVersions(t, hs, "v1")
	for i, p := range probers {
		if failures, total := p.Failures(), p.Total(); len(failures) > 0 || total == 0 {
			t.Errorf("host %d: %d of %d probes failed: %v", i+1, len(failures), total, failures)
		}
	}
}
