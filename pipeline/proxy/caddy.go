package proxy

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// Active health checks run this often; a switch waits a few of them.
const liveCheckInterval = 100 * time.Millisecond

// healthAddr is the loopback address of the file server that tells
// Caddy's health checks which upstreams are live: any port but the public
// one.
func healthAddr(port int) string {
	if port == 2021 {
		return "127.0.0.1:2022"
	}
	return "127.0.0.1:2021"
}

// caddyConfig is the Caddy JSON config of one port: one Route per app,
// each after its maintenance route, host-name routes before the
// catch-all, and a 404 when nothing matches; with HTTPS, the
// certificates and the redirect server. It names no color as live (the
// live files do) and no app as in maintenance (the page files do), so a
// switch or a maintenance leaves it unchanged.
func caddyConfig(port int, routes []Route, drain time.Duration) ([]byte, error) {
	var mine []Route
	for _, r := range routes {
		if r.Port == port {
			mine = append(mine, r)
		}
	}
	sort.Slice(mine, func(i, j int) bool {
		if (mine[i].Host == "") != (mine[j].Host == "") {
			return mine[j].Host == ""
		}
		return mine[i].Host < mine[j].Host
	})
	type obj = map[string]any
	var handlers []any
	catchAll := false
	for _, r := range mine {
		var upstreams []any
		for _, u := range r.Upstreams {
			upstreams = append(upstreams, obj{"dial": u})
		}
		h := obj{
			"handle": []any{obj{
				"handler":   "reverse_proxy",
				"upstreams": upstreams,
				// The first live color gets every request. A color that
				// cannot be dialed (stopped: docker's DNS drops its name)
				// is skipped, and the request retried on the next one.
				"load_balancing": obj{"selection_policy": obj{"policy": "first"}, "try_duration": "5s", "try_interval": "25ms"},
				"health_checks": obj{"active": obj{
					"upstream": healthAddr(port), "uri": "/", "interval": liveCheckInterval.String(), "timeout": "1s",
					"expect_status": 200,
					"headers":       obj{"X-Goship-Upstream": []any{"{http.reverse_proxy.active.target_upstream}"}},
				}},
				// Short-lived upstream keep-alives let the old release show
				// no open connections soon after a switch, so the drain
				// ends when its last request does.
				"transport": obj{"protocol": "http", "keep_alive": obj{"idle_timeout": "1s"}},
			}},
			"terminal": true,
		}
		if r.Host != "" {
			h["match"] = []any{obj{"host": []any{r.Host}}}
		} else {
			catchAll = true
		}
		handlers = append(handlers, maintenanceRoute(r), h)
	}
	if !catchAll {
		handlers = append(handlers, obj{"handle": []any{obj{"handler": "static_response", "status_code": 404, "body": "no app for this host\n"}}})
	}
	public := obj{
		"listen":          []any{":" + strconv.Itoa(port)},
		"automatic_https": obj{"disable": true},
		"routes":          handlers,
	}
	servers := obj{
		"goship": public,
		// 200 when /etc/goship/live/<upstream> exists, else 404.
		"live": obj{
			"listen":          []any{healthAddr(port)},
			"automatic_https": obj{"disable": true},
			"routes": []any{obj{"handle": []any{
				obj{"handler": "rewrite", "uri": "/{http.request.header.X-Goship-Upstream}"},
				obj{"handler": "file_server", "root": proxyConfigDir + "/live"},
			}}},
		},
	}
	apps := obj{"http": obj{"grace_period": (drain + 5*time.Second).String(), "servers": servers}}
	if portTLS(port, mine) != nil {
		policies, tlsApp, redirect := tlsCaddy(port, mine)
		public["tls_connection_policies"] = policies
		// No HTTP/3: docker publishes the port over TCP only.
		public["protocols"] = []any{"h1", "h2"}
		apps["tls"] = tlsApp
		if redirect != nil {
			servers["redirect"] = redirect
		}
	}
	cfg := obj{
		// The admin API listens on the container's own loopback only;
		// goship reaches it with docker exec. The file goship writes is
		// the only config, so Caddy keeps no autosave.
		"admin": obj{"listen": "localhost:2019", "config": obj{"persist": false}},
		"apps":  apps,
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// proxyConfigDir is where a port's config lives inside its container.
const proxyConfigDir = "/etc/goship"
