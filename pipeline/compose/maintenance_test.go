package compose

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/proxy"
)

// answer is one response as a client sees it.
type answer struct {
	status int
	header http.Header
	body   string
}

func ask(t *testing.T, client *http.Client, method, url string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func TestMaintenanceAnswers503WhileContainersRunAndSurvivesADeploy(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "mt")
	ctx := context.Background()
	dir := w.srv.AppRoot + "/" + app
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second}

	if _, err := Deploy(ctx, c, w.bgSpec(app, port, "v1")); err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	loads := w.proxyReloads(t)
	m, err := proxy.NewMaintenance("Back at <b>14:00</b>.", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := SetMaintenance(ctx, c, app, dir, m)
	if err != nil {
		t.Fatalf("maintenance on: %v", err)
	}
	t.Logf("maintenance on took %s: %s", time.Since(start).Round(time.Millisecond), out)

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		a := ask(t, client, method, base+"/version")
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "600" || a.header.Get("Cache-Control") != "no-store" ||
			!strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !strings.Contains(a.body, "Back at &lt;b&gt;14:00&lt;/b&gt;.") {
			t.Fatalf("%s in maintenance: %d %v\n%s", method, a.status, a.header, a.body)
		}
	}
	running := func() string {
		return strings.TrimSpace(w.docker.Run(t, nil, "ps", "--filter", "label=com.docker.compose.project="+app+"-blue", "--format", "{{.State}}"))
	}
	if got := running(); got != "running" {
		t.Fatalf("the serving color must keep running in maintenance: %q", got)
	}
	st, err := Status(ctx, c, app, dir, "")
	if err != nil || st.Proxy == nil || !st.Proxy.Maintenance || !strings.Contains(FormatStatus(st), "proxy: MAINTENANCE ON") {
		t.Fatalf("status: %+v, %v", st, err)
	}

	// A deploy's gate checks the new color directly, so it passes behind
	// the page, and the page stays.
	r2, err := Deploy(ctx, c, w.bgSpec(app, port, "v2"))
	if err != nil {
		t.Fatalf("deploy v2 in maintenance: %v", err)
	}
	if a := ask(t, client, http.MethodGet, base+"/version"); a.status != http.StatusServiceUnavailable {
		t.Fatalf("after a deploy in maintenance: %d %q", a.status, a.body)
	}
	// Moving back to recreate would drop the page: refused before anything changes.
	back := w.spec(app, port, "v1")
	back.Strategy = StrategyRecreate
	if _, err := Deploy(ctx, c, back); err == nil || !strings.Contains(err.Error(), "turn it off first") {
		t.Fatalf("recreate in maintenance: %v", err)
	}

	if _, err := SetMaintenance(ctx, c, app, dir, nil); err != nil {
		t.Fatalf("maintenance off: %v", err)
	}
	if a := ask(t, client, http.MethodGet, base+"/version"); a.status != http.StatusOK || strings.TrimSpace(a.body) != "v2" {
		t.Fatalf("after maintenance off: %d %q, want v2 (%s)", a.status, a.body, r2.Release)
	}
	if got := w.proxyReloads(t); got != loads {
		t.Fatalf("maintenance on, a deploy and off reloaded Caddy %d times, want none", got-loads)
	}
}

func TestMaintenanceRefusesARecreateApp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "mtr")
	ctx := context.Background()
	if _, err := Deploy(ctx, c, w.spec(app, port, "v1")); err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	m, _ := proxy.NewMaintenance("", time.Minute)
	_, err := SetMaintenance(ctx, c, app, w.srv.AppRoot+"/"+app, m)
	if err == nil || !strings.Contains(err.Error(), "with-blue-green") {
		t.Fatalf("maintenance of a recreate app: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("the refused maintenance touched the app: /version = %q", got)
	}
}
