package proxy

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestRouteConflicts(t *testing.T) {
	existing := []Route{
		{App: "a", Port: 80},
		{App: "b", Port: 80, Host: "b.example.com"},
		{App: "c", Port: 9000, Bind: "127.0.0.1"},
	}
	tests := []struct {
		r       Route
		wantErr string
	}{
		{Route{App: "a", Port: 80}, ""},                        // a redeploys
		{Route{App: "d", Port: 81}, ""},                        // a port of its own
		{Route{App: "d", Port: 80, Host: "d.example.com"}, ""}, // a host of its own
		{Route{App: "d", Port: 80}, "already serves app a"},    // a second catch-all
		{Route{App: "d", Port: 80, Host: "b.example.com"}, "host b.example.com for app b"},
		{Route{App: "d", Port: 9000, Host: "d.example.com"}, `bound to "127.0.0.1" for app c`},
	}
	for _, tt := range tests {
		err := Conflict(existing, tt.r)
		if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Conflict(%+v) = %v, want %q", tt.r, err, tt.wantErr)
		}
	}
}

func TestCaddyConfigRoutesHostsFirstAndFallsBackTo404(t *testing.T) {
	routes := []Route{
		{App: "a", Port: 80, Upstreams: []string{"goship-a-blue:8080", "goship-a-green:8080"}, Live: "goship-a-blue:8080"},
		{App: "b", Port: 80, Host: "b.example.com", Upstreams: []string{"goship-b-blue:8080", "goship-b-green:8080"}, Live: "goship-b-green:8080"},
		{App: "c", Port: 9000, Upstreams: []string{"goship-c-blue:8080", "goship-c-green:8080"}, Live: "goship-c-blue:8080"},
	}
	var cfg struct {
		Admin struct {
			Listen string
			Config struct{ Persist bool }
		}
		Apps struct {
			HTTP struct {
				GracePeriod string `json:"grace_period"`
				Servers     map[string]struct {
					Listen []string
					Routes []struct {
						Match  []map[string]any
						Handle []map[string]any
					}
				}
			} `json:"http"`
		}
	}
	data, err := caddyConfig(80, routes, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	srv := cfg.Apps.HTTP.Servers["goship"]
	if cfg.Admin.Listen != "localhost:2019" || cfg.Admin.Config.Persist || cfg.Apps.HTTP.GracePeriod != "15s" || len(srv.Listen) != 1 || srv.Listen[0] != ":80" {
		t.Fatalf("config:\n%s", data)
	}
	// Each app: its maintenance route, then its proxy route.
	hostOf := func(i int) any {
		if len(srv.Routes[i].Match) == 0 {
			return nil
		}
		if h, ok := srv.Routes[i].Match[0]["host"].([]any); ok {
			return h[0]
		}
		return nil
	}
	if len(srv.Routes) != 4 || hostOf(0) != "b.example.com" || hostOf(1) != "b.example.com" || hostOf(2) != nil || len(srv.Routes[3].Match) != 0 {
		t.Fatalf("want b's host routes, then a's catch-all:\n%s", data)
	}
	if srv.Routes[0].Match[0]["file"] == nil || srv.Routes[0].Handle[0]["status_code"] != float64(503) || srv.Routes[1].Handle[0]["handler"] != "reverse_proxy" {
		t.Fatalf("want b's maintenance route (503 while its page exists) before its proxy route:\n%s", data)
	}
	if !strings.Contains(string(data), `"dial": "goship-a-blue:8080"`) || strings.Contains(string(data), "goship-c-blue") {
		t.Fatalf("port 80's config must dial a and b only:\n%s", data)
	}
	// A switch changes which color is live, not the config.
	switched := append([]Route(nil), routes...)
	switched[0].Live = "goship-a-green:8080"
	if again, _ := caddyConfig(80, switched, 10*time.Second); string(again) != string(data) {
		t.Fatalf("the config names the live color:\n%s", again)
	}
	live := cfg.Apps.HTTP.Servers["live"]
	if len(live.Listen) != 1 || live.Listen[0] != "127.0.0.1:2021" || !strings.Contains(string(data), `"root": "/etc/goship/live"`) {
		t.Fatalf("the live-file server:\n%s", data)
	}
	if healthAddr(2021) == "127.0.0.1:2021" {
		t.Fatal("the live-file server must not take the public port")
	}

	data, _ = caddyConfig(80, routes[1:2], time.Second)
	if !strings.Contains(string(data), `"status_code": 404`) {
		t.Fatalf("a port with host routes only needs a 404 fallback:\n%s", data)
	}
}

func TestProxyComposePublishesEachPortOnce(t *testing.T) {
	rec := Record{Name: "goship-proxy", Image: "caddy:2", Drain: 30 * time.Second}
	out, err := proxyCompose(rec, []Route{{App: "a", Port: 80}, {App: "b", Port: 80, Host: "b.example.com"}, {App: "c", Port: 9000, Bind: "127.0.0.1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Image    string
			Ports    []string
			Volumes  []string
			Networks []string
		}
		Networks map[string]map[string]any
	}
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Services) != 2 || doc.Services["p80"].Ports[0] != "80:80" || doc.Services["p9000"].Ports[0] != "127.0.0.1:9000:9000" {
		t.Fatalf("services:\n%s", out)
	}
	if doc.Services["p80"].Volumes[0] != "./ports/80:/etc/goship:ro" || doc.Networks["edge"]["name"] != "goship-proxy" {
		t.Fatalf("config mount or network:\n%s", out)
	}
}
