// Package bench measures goship against the way its users deploy today.
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/
//
// BenchmarkDeployV1ToV2 deploys hello v1 then v2 to the test world's sshd
// and dockerd while a client probes /healthz every 20 ms, once with
// goship's deploy and once the seeds' way (plain ssh running
// `docker-compose pull && docker-compose down && docker-compose up -d`
// after a tag edit). It reports each side's deploy time and failed-request
// window, and their ratios (goship / seeds: below 1 means goship is better).
package bench

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// startProber probes port's /healthz every 20 ms; an answer slower than
// 500 ms counts as failed.
func startProber(port int) *testworld.Prober {
	return testworld.StartProber(healthURL(port), testworld.ProbeTimeout(500*time.Millisecond))
}

func healthURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/healthz", port) }

// finish waits until the service on port answers again (at most 30 s),
// stops p, and returns the failed requests and the failed-request window:
// first to last failure.
func finish(p *testworld.Prober, port int) (failed int, window time.Duration) {
	url := healthURL(port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	p.Halt(0)
	return len(p.Failures()), p.Window()
}

func BenchmarkDeployV1ToV2(b *testing.B) {
	w := newWorld(b)
	ctx := context.Background()
	forget := func() { // both sides pull v2 from the registry, not the local cache
		for _, ref := range []string{w.rel["v2"].String(), w.reg.Host + "/goship/hello:v2"} {
			_, _ = w.docker.Try(nil, "image", "rm", "-f", ref)
		}
	}
	var gDeploy, gWindow, sDeploy, sWindow time.Duration
	var gFailed, sFailed int
	for i := 0; i < b.N; i++ {
		// goship
		port := testworld.FreePort(b)
		app := fmt.Sprintf("benchg%d", port)
		spec := func(v string) compose.Spec {
			return compose.Spec{
				App: app, AppDir: w.srv.AppRoot + "/" + app, Image: w.rel[v].String(), Who: "bench",
				Publish:  fmt.Sprintf("127.0.0.1:%d:%d", port, testworld.HelloPort),
				Health:   host.Health{Timeout: 30 * time.Second, Interval: 100 * time.Millisecond},
				Transfer: host.Registry{Host: w.reg.Host, Username: w.reg.Username, Password: w.reg.Password},
			}
		}
		if _, err := compose.Deploy(ctx, w.client, spec("v1")); err != nil {
			b.Fatal(err)
		}
		forget()
		p := startProber(port)
		start := time.Now()
		if _, err := compose.Deploy(ctx, w.client, spec("v2")); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		failed, window := finish(p, port)
		gDeploy, gWindow, gFailed = gDeploy+took, gWindow+window, gFailed+failed
		w.docker.RemoveComposeProject(app)

		// the seeds' way
		port = testworld.FreePort(b)
		app = fmt.Sprintf("benchs%d", port)
		dir := w.srv.AppRoot + "/" + app
		w.seedsUp(b, ctx, app, dir, port)
		forget()
		p = startProber(port)
		start = time.Now()
		seeds := fmt.Sprintf("cd %[1]s && export DOCKER_CONFIG=%[1]s/.docker && sed -i 's/hello:v1/hello:v2/' docker-compose.yml && docker-compose -p %[2]s pull -q && docker-compose -p %[2]s down && docker-compose -p %[2]s up -d", dir, app)
		if _, err := w.client.Run(ctx, "seeds deploy", seeds, nil); err != nil {
			b.Fatal(err)
		}
		took = time.Since(start)
		failed, window = finish(p, port)
		sDeploy, sWindow, sFailed = sDeploy+took, sWindow+window, sFailed+failed
		w.docker.RemoveComposeProject(app)
	}
	n := float64(b.N)
	b.ReportMetric(gDeploy.Seconds()/n, "goship-deploy-s")
	b.ReportMetric(sDeploy.Seconds()/n, "seeds-deploy-s")
	b.ReportMetric(float64(gWindow.Milliseconds())/n, "goship-failed-window-ms")
	b.ReportMetric(float64(sWindow.Milliseconds())/n, "seeds-failed-window-ms")
	b.ReportMetric(float64(gFailed)/n, "goship-failed-requests")
	b.ReportMetric(float64(sFailed)/n, "seeds-failed-requests")
	b.ReportMetric(gDeploy.Seconds()/sDeploy.Seconds(), "deploy-time-ratio")
	if sWindow > 0 {
		b.ReportMetric(gWindow.Seconds()/sWindow.Seconds(), "failed-window-ratio")
	}
}
