package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goship-dev/goship/pipeline/host"
)

// Maintenance mode: the app's Caddy answers every request for it with
// 503, a small HTML page and Retry-After, while its containers keep
// running. Each app's routes start with one that matches only while
// ports/<port>/maintenance/<app>.html exists (Caddy's file matcher looks
// on every request) and serves that file's content. Turning maintenance
// on or off writes or removes the file: no reload, no restart. A deploy
// or rollback gates the new color directly, not through Caddy, and never
// touches the file, so it keeps maintenance on.

// DefaultRetryAfter is the Retry-After a maintenance page sends when
// none is given.
const DefaultRetryAfter = 5 * time.Minute

// DefaultMaintenanceMessage is the page's text when none is given.
const DefaultMaintenanceMessage = "This service is down for maintenance and will be back shortly."

// maxMessage bounds the page's text (Caddy reads the file per request).
const maxMessage = 2000

// Maintenance is what an app in maintenance answers: 503 with Page and
// Retry-After.
type Maintenance struct {
	Page       []byte
	RetryAfter time.Duration
}

// NewMaintenance checks the message and retry-after and builds the page;
// an empty message is DefaultMaintenanceMessage.
func NewMaintenance(message string, retryAfter time.Duration) (*Maintenance, error) {
	message = strings.TrimSpace(message)
	if message == "" {
		message = DefaultMaintenanceMessage
	}
	switch {
	case !utf8.ValidString(message):
		return nil, fmt.Errorf("--message: not valid UTF-8")
	case utf8.RuneCountInString(message) > maxMessage:
		return nil, fmt.Errorf("--message: %d characters, at most %d", utf8.RuneCountInString(message), maxMessage)
	case retryAfter < time.Second || retryAfter > 7*24*time.Hour:
		return nil, fmt.Errorf("--retry-after %s: want 1s to 168h", retryAfter)
	}
	page := `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Down for maintenance</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}p{white-space:pre-line}</style>
</head><body><h1>Down for maintenance</h1>
<p>` + html.EscapeString(message) + `</p>
</body></html>
`
	return &Maintenance{Page: []byte(page), RetryAfter: retryAfter.Round(time.Second)}, nil
}

func (p *Proxy) maintenanceDir(port int) string {
	return fmt.Sprintf("%s/ports/%d/maintenance", p.rec.Root, port)
}

// maintenanceRoute answers for r's app while its page file exists.
func maintenanceRoute(r Route) map[string]any {
	type obj = map[string]any
	page := proxyConfigDir + "/maintenance/" + r.App
	match := obj{"file": obj{"root": proxyConfigDir + "/maintenance", "try_files": []any{"/" + r.App + ".html"}}}
	if r.Host != "" {
		match["host"] = []any{r.Host}
	}
	return obj{
		"match": []any{match},
		"handle": []any{obj{
			"handler": "static_response", "status_code": http.StatusServiceUnavailable,
			"headers": obj{
				"Content-Type":  []any{"text/html; charset=utf-8"},
				"Retry-After":   []any{"{file." + page + ".retry}"},
				"Cache-Control": []any{"no-store"},
			},
			"body": "{file." + page + ".html}",
		}},
		"terminal": true,
	}
}

// SetMaintenance turns app's maintenance on with m, or off (m nil).
// Turning it on also brings the port's config up to date (one written
// by a goship without maintenance routes is rewritten and reloaded) and
// checks the proxy answers 503.
func (p *Proxy) SetMaintenance(ctx context.Context, app string, m *Maintenance) error {
	l, err := p.lock(ctx, "goship maintenance")
	if err != nil {
		return fmt.Errorf("proxy lock: %w", err)
	}
	defer l.Release()
	all, err := p.Routes(ctx)
	if err != nil {
		return err
	}
	r, ok := findRoute(all, app)
	if !ok {
		return fmt.Errorf("app %s has no route on the proxy in %s: deploy it with with-blue-green first", app, p.rec.Root)
	}
	dir := p.maintenanceDir(r.Port)
	if m == nil {
		// The page goes first: without it the route no longer matches.
		script := fmt.Sprintf("rm -f %[1]s/%[2]s.html && rm -f %[1]s/%[2]s.retry", host.Q(dir), host.Q(app))
		if _, err := p.s.Run(ctx, "maintenance off", script, nil); err != nil {
			return fmt.Errorf("maintenance off for %s: %w", app, err)
		}
		return nil
	}
	retry := strconv.Itoa(int(m.RetryAfter / time.Second))
	if _, err := p.putFile(ctx, dir+"/"+app+".retry", []byte(retry)); err != nil {
		return err
	}
	if _, err := p.putFile(ctx, dir+"/"+app+".html", m.Page); err != nil {
		return err
	}
	if err := p.refreshConfig(ctx, r.Port, all); err != nil {
		return err
	}
	return p.expectStatus(ctx, r, http.StatusServiceUnavailable)
}

// refreshConfig writes port's Caddy config from routes and reloads a
// running Caddy when it changed.
func (p *Proxy) refreshConfig(ctx context.Context, port int, routes []Route) error {
	cfg, err := caddyConfig(port, routes, p.rec.Drain)
	if err != nil {
		return err
	}
	changed, err := p.putFile(ctx, fmt.Sprintf("%s/ports/%d/caddy.json", p.rec.Root, port), cfg)
	if err != nil || !changed {
		return err
	}
	c, err := p.inspect(ctx, port)
	if err != nil || c.id == "" || c.status != "running" {
		return err
	}
	return p.reload(ctx, c.id, port)
}

// expectStatus checks the port's Caddy answers r's app with want, for a
// few seconds at most.
func (p *Proxy) expectStatus(ctx context.Context, r Route, want int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := p.request(ctx, r, http.MethodGet)
		if err == nil && got == want {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("proxy port %d on %s does not answer %s: %w", r.Port, p.s.Target(), r.App, err)
			}
			return fmt.Errorf("proxy port %d on %s answers %s with %d, want %d: is its Caddy running the current config? (docker logs of %s-%s)", r.Port, p.s.Target(), r.App, got, want, p.rec.Name, p.service(r.Port))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// AppStatus is what the proxy does for one app beyond routing it.
type AppStatus struct {
	Port        int
	Host        string
	Maintenance bool
	Since       time.Time // when maintenance was turned on
	TLS         *RouteTLS
}

// String reads "maintenance ON since …; https: …" for status.
func (a AppStatus) String() string {
	m := "maintenance off"
	if a.Maintenance {
		m = "MAINTENANCE ON since " + a.Since.UTC().Format("2006-01-02 15:04 UTC") + " (503 to every request; turn off with maintenance off)"
	}
	h := "https off"
	if a.TLS != nil {
		h = fmt.Sprintf("https on port %d for %s, certificate %s", a.Port, strings.Join(a.TLS.Names, ", "), certExpiry(a.TLS, time.Now()))
		if a.TLS.RedirectFrom != 0 {
			h += fmt.Sprintf(", http on port %d redirects", a.TLS.RedirectFrom)
		}
	}
	return m + "; " + h
}

// AppStatus reads app's route and maintenance page.
func (p *Proxy) AppStatus(ctx context.Context, app string) (AppStatus, error) {
	script := fmt.Sprintf(`cd %s 2>/dev/null || exit 0
[ -f routes/%[2]s.json ] && { tr -d '\n' < routes/%[2]s.json; echo; }
for f in ports/*/maintenance/%[2]s.html; do [ -f "$f" ] && echo "maintenance $(stat -c %%Y "$f") $f"; done; true`, host.Q(p.rec.Root), host.Q(app))
	out, err := p.s.Run(ctx, "read proxy status", script, nil)
	if err != nil {
		return AppStatus{}, err
	}
	var st AppStatus
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(line, "{"):
			var r Route
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return AppStatus{}, fmt.Errorf("proxy route of %s: %w", app, err)
			}
			st.Port, st.Host, st.TLS = r.Port, r.Host, r.TLS
		case strings.HasPrefix(line, "maintenance "):
			f := strings.Fields(line)
			if sec, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				st.Maintenance, st.Since = true, time.Unix(sec, 0)
			}
		}
	}
	return st, nil
}

// copyMaintenance puts app's maintenance files on port from, if any, on
// port to as well.
func (p *Proxy) copyMaintenance(ctx context.Context, app string, from, to int) error {
	src, dst := p.maintenanceDir(from)+"/"+app, p.maintenanceDir(to)
	script := fmt.Sprintf(`[ -f %[1]s.html ] || exit 0
mkdir -p %[2]s && cp -p %[1]s.retry %[2]s/ 2>/dev/null; cp -p %[1]s.html %[2]s/`, host.Q(src), host.Q(dst))
	if _, err := p.s.Run(ctx, "copy maintenance page", script, nil); err != nil {
		return fmt.Errorf("keep %s in maintenance on port %d: %w", app, to, err)
	}
	return nil
}

// inMaintenance says whether app's page is on port.
func (p *Proxy) inMaintenance(ctx context.Context, app string, port int) (bool, error) {
	out, err := p.s.Run(ctx, "maintenance page", fmt.Sprintf("[ -f %s.html ] && echo on; true", host.Q(p.maintenanceDir(port)+"/"+app)), nil)
	return strings.TrimSpace(out) == "on", err
}

// dropAppFiles removes app's maintenance page and certificates on port,
// which it left.
func (p *Proxy) dropAppFiles(ctx context.Context, app string, port int) {
	_, _ = p.s.Run(ctx, "remove maintenance page", fmt.Sprintf("rm -f %[1]s.html %[1]s.retry", host.Q(p.maintenanceDir(port)+"/"+app)), nil)
	p.pruneTLS(ctx, app, port, nil)
}

// putFile replaces path with data atomically (a reader sees the old or
// the new file) and reports whether it changed.
func (p *Proxy) putFile(ctx context.Context, path string, data []byte) (bool, error) {
	script := fmt.Sprintf(`mkdir -p "$(dirname %[1]s)" && cat > %[1]s.tmp
if cmp -s %[1]s.tmp %[1]s; then rm -f %[1]s.tmp; else mv -f %[1]s.tmp %[1]s && echo changed; fi`, host.Q(path))
	out, err := p.s.Run(ctx, "write "+path, script, bytes.NewReader(data))
	return strings.TrimSpace(out) == "changed", err
}
