package bench

// BenchmarkZeroDowntime runs the three cases of issue 14 (v1 -> v2, a
// broken v3, a rollback v2 -> v1) with goship's recreate, goship's
// blue-green and the seeds' `docker-compose pull && down && up -d`,
// while a client probes /healthz every 20 ms and 2 s requests to /slow
// are kept in flight, and prints one table:
//
//	go test -run '^$' -bench ZeroDowntime -benchtime 1x ./bench/

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// slowCalls keeps a GET /slow?d=2s in flight, a new one every 250 ms,
// until stopped, and counts those that did not answer 200.
type slowCalls struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	total  int
	failed int
}

func startSlow(port int) *slowCalls {
	s := &slowCalls{stop: make(chan struct{})}
	url := fmt.Sprintf("http://127.0.0.1:%d/slow?d=2s", port)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				ok := false
				if resp, err := client.Get(url); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					ok = resp.StatusCode == http.StatusOK
				}
				s.mu.Lock()
				s.total++
				if !ok {
					s.failed++
				}
				s.mu.Unlock()
			}()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *slowCalls) finish() string {
	close(s.stop)
	s.wg.Wait()
	return fmt.Sprintf("%d/%d", s.total-s.failed, s.total)
}

// measured is one case of one column.
type measured struct {
	failed, total int
	window        time.Duration
	slow          string // 2 s requests that completed with 200, of those sent
	took          time.Duration
	note          string
}

func (m measured) cell() string {
	s := fmt.Sprintf("%d failed / %d, %s", m.failed, m.total, m.window.Round(10*time.Millisecond))
	if m.note != "" {
		s += " (" + m.note + ")"
	}
	return s
}

// measure runs step while probing port, and while keeping 2 s requests
// in flight when slow is set.
func measure(b *testing.B, port int, slow bool, step func() error) measured {
	b.Helper()
	p := startProber(port)
	var s *slowCalls
	if slow {
		s = startSlow(port)
	}
	start := time.Now()
	err := step()
	m := measured{took: time.Since(start)}
	if err != nil {
		m.note = "error: " + firstLine(err.Error())
	}
	time.Sleep(300 * time.Millisecond) // the first requests after the step
	if s != nil {
		m.slow = s.finish()
	}
	// Stopped without waiting for the service to answer again: after a
	// broken release the seeds' way never does.
	p.Halt(0)
	m.failed, m.total, m.window = len(p.Failures()), p.Total(), p.Window()
	return m
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	if len(line) > 60 {
		line = line[:60] + "…"
	}
	return line
}

type column struct {
	name                      string
	upgrade, broken, rollback measured
}

func BenchmarkZeroDowntime(b *testing.B) {
	w := newWorld(b)
	proxyImage := testworld.ProxyImage(b, w.docker)
	ctx := context.Background()
	proxyName := fmt.Sprintf("benchproxy%d", testworld.FreePort(b))
	defer func() {
		w.docker.RemoveComposeProject(proxyName)
		_, _ = w.docker.Try(nil, "network", "rm", proxyName)
	}()
	// Every measured deploy pulls its image, as a real one does.
	forget := func(v string) {
		for _, ref := range []string{w.rel[v].String(), w.reg.Host + "/goship/hello:" + v} {
			_, _ = w.docker.Try(nil, "image", "rm", ref)
		}
	}

	var cols []column
	for i := 0; i < b.N; i++ {
		for _, strategy := range []compose.Strategy{compose.StrategyRecreate, compose.StrategyBlueGreen} {
			cols = append(cols, goshipColumn(b, ctx, w, strategy, proxyName, proxyImage, forget))
		}
		cols = append(cols, seedsColumn(b, ctx, w, forget))
	}
	cols = cols[len(cols)-3:]

	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "\ncase\tgoship recreate\tgoship blue-green\tseeds (pull, down, up -d)\tgoal")
	row := func(name, goal string, cell func(column) string) {
		cells := []string{name}
		for _, c := range cols {
			cells = append(cells, cell(c))
		}
		_, _ = fmt.Fprintln(tw, strings.Join(append(cells, goal), "\t"))
	}
	row("v1 -> v2: failed, window", "0 failed", func(c column) string { return c.upgrade.cell() })
	row("broken v3: failed, window", "0 failed", func(c column) string { return c.broken.cell() })
	row("rollback v2 -> v1: failed, window", "0 failed", func(c column) string { return c.rollback.cell() })
	row("2 s requests completed with 200 (v1->v2, rollback)", "all", func(c column) string { return c.upgrade.slow + ", " + c.rollback.slow })
	row("deploy wall time v1 -> v2", "blue-green <= 1.5x recreate", func(c column) string { return c.upgrade.took.Round(10 * time.Millisecond).String() })
	_ = tw.Flush()

	recreate, blueGreen, seeds := cols[0], cols[1], cols[2]
	b.ReportMetric(float64(blueGreen.upgrade.failed+blueGreen.broken.failed+blueGreen.rollback.failed), "bluegreen-failed-requests")
	b.ReportMetric(float64(recreate.upgrade.failed+recreate.broken.failed+recreate.rollback.failed), "recreate-failed-requests")
	b.ReportMetric(float64(seeds.upgrade.failed+seeds.rollback.failed), "seeds-failed-requests")
	b.ReportMetric(blueGreen.upgrade.took.Seconds()/recreate.upgrade.took.Seconds(), "bluegreen/recreate-wall-time")
}

// goshipColumn deploys v1, then measures v2, a broken v3 and a rollback
// to v1 with goship's deploy and rollback.
func goshipColumn(b *testing.B, ctx context.Context, w *world, strategy compose.Strategy, proxyName, proxyImage string, forget func(string)) column {
	b.Helper()
	port := testworld.FreePort(b)
	app := fmt.Sprintf("bench%s%d", strings.ReplaceAll(string(strategy), "-", ""), port)
	defer func() {
		for _, p := range []string{app, app + "-blue", app + "-green"} {
			w.docker.RemoveComposeProject(p)
		}
	}()
	health := host.Health{Timeout: 15 * time.Second, Interval: 100 * time.Millisecond}
	spec := func(v string) compose.Spec {
		s := compose.Spec{
			App: app, AppDir: w.srv.AppRoot + "/" + app, Image: w.rel[v].String(), Version: v, Who: "bench",
			Publish:  fmt.Sprintf("127.0.0.1:%d:%d", port, testworld.HelloPort),
			Health:   health,
			Transfer: host.Registry{Host: w.reg.Host, Username: w.reg.Username, Password: w.reg.Password},
			Strategy: strategy,
		}
		if strategy == compose.StrategyBlueGreen {
			s.Proxy = compose.Proxy{Name: proxyName, Root: w.srv.AppRoot + "/" + proxyName, Image: proxyImage}
		}
		return s
	}
	if _, err := compose.Deploy(ctx, w.client, spec("v1")); err != nil {
		b.Fatalf("%s: deploy v1: %v", strategy, err)
	}
	col := column{name: "goship " + string(strategy)}
	forget("v2")
	col.upgrade = measure(b, port, true, func() error { _, err := compose.Deploy(ctx, w.client, spec("v2")); return err })
	col.broken = measure(b, port, false, func() error {
		if _, err := compose.Deploy(ctx, w.client, spec("v3")); err == nil {
			return fmt.Errorf("the broken v3 passed the gate")
		}
		return nil
	})
	col.broken.note = "gate failed, v2 serves"
	col.rollback = measure(b, port, true, func() error {
		_, err := compose.Rollback(ctx, w.client, compose.RollbackSpec{App: app, AppDir: w.srv.AppRoot + "/" + app, Who: "bench", Health: health})
		return err
	})
	return col
}

// seedsColumn does what the seeds do: edit the tag, pull, down, up -d.
func seedsColumn(b *testing.B, ctx context.Context, w *world, forget func(string)) column {
	b.Helper()
	port := testworld.FreePort(b)
	app := fmt.Sprintf("benchseeds%d", port)
	dir := w.srv.AppRoot + "/" + app
	defer w.docker.RemoveComposeProject(app)
	w.seedsUp(b, ctx, app, dir, port)
	to := func(from, v string) func() error {
		return func() error {
			script := fmt.Sprintf("cd %[1]s && export DOCKER_CONFIG=%[1]s/.docker && sed -i 's/hello:%[3]s/hello:%[4]s/' docker-compose.yml && docker-compose -p %[2]s pull -q && docker-compose -p %[2]s down && docker-compose -p %[2]s up -d", dir, app, from, v)
			_, err := w.client.Run(ctx, "seeds deploy "+v, script, nil)
			return err
		}
	}
	col := column{name: "seeds"}
	forget("v2")
	col.upgrade = measure(b, port, true, to("v1", "v2"))
	col.broken = measure(b, port, false, func() error {
		err := to("v2", "v3")()
		time.Sleep(3 * time.Second) // nothing gates it: it keeps failing
		return err
	})
	col.broken.note = "v3 serves 503s until someone redeploys"
	if err := to("v3", "v2")(); err != nil { // by hand, unmeasured
		b.Fatal(err)
	}
	col.rollback = measure(b, port, true, to("v2", "v1"))
	return col
}
