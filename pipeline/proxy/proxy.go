// Package proxy runs the shared reverse proxy that blue-green deploys
// switch, on one docker host: Caddy's config, its compose project, each
// app's route, the switch (live files flipped, no reload), and an app
// leaving its port. It builds on pipeline/host and knows no strategy.
//
// The proxy is Caddy, run as its own compose project under Root:
//
//	compose.yaml             one service per public port, p<port>
//	routes/<app>.json        each app's public address and upstreams
//	ports/<port>/caddy.json  the Caddy config of one port, from the routes
//	ports/<port>/live/<up>   one empty file per upstream that gets traffic
//	.lock, .lock.owner       held while the routes change
//
// One Caddy container per public port, because docker cannot publish a
// port on a running container: a new app on a new port adds a container
// and never restarts the ones serving other apps. Apps on one port, told
// apart by host name, share that port's Caddy.
//
// A switch changes no config. Each app's Route lists both colors; Caddy
// sends each request to the first one its active health check finds
// live, and that check asks Caddy's own file server whether the color's
// live file exists. Switching is creating the new color's file and
// removing the old one's. A reload would do too, but Go's http.Server
// drops a request read after its Shutdown began, so every reload can
// lose a request on a busy port; a Route change (an app joins or leaves a
// port) still reloads, a deploy or rollback never does. Requests in
// flight finish on the old color, which is stopped only once it has none.
package proxy

import (
	"fmt"
	"strconv"

	"github.com/goship-dev/goship/pipeline/host"
)

// Route is one app's entry in the proxy.
type Route struct {
	App       string   `json:"app"`
	Bind      string   `json:"bind,omitempty"`
	Port      int      `json:"port"`
	Host      string   `json:"host,omitempty"`
	Upstreams []string `json:"upstreams"` // alias:port of each color on the proxy network
	Live      string   `json:"live"`      // the one that gets traffic
	Release   string   `json:"release"`
	Color     string   `json:"color"`
}

// Proxy changes the proxy on one server.
type Proxy struct {
	s   *host.App
	rec host.ProxyRecord
}

// On is the proxy rec describes, on the server a runs on (its SSH
// connection and compose command).
func On(a *host.App, rec host.ProxyRecord) *Proxy { return &Proxy{s: a, rec: rec} }

func (p *Proxy) service(port int) string { return "p" + strconv.Itoa(port) }

// Conflict is why r cannot join routes, or nil.
func Conflict(routes []Route, r Route) error {
	for _, o := range routes {
		if o.App == r.App || o.Port != r.Port {
			continue
		}
		if o.Bind != r.Bind {
			return fmt.Errorf("proxy port %d is bound to %q for app %s; app %s wants %q: use the same address or another port", r.Port, OrAll(o.Bind), o.App, r.App, OrAll(r.Bind))
		}
		if o.Host == r.Host {
			if r.Host == "" {
				return fmt.Errorf("proxy port %d already serves app %s: give each app its own port, or each a host name", r.Port, o.App)
			}
			return fmt.Errorf("proxy port %d already serves host %s for app %s", r.Port, r.Host, o.App)
		}
	}
	return nil
}

// OrAll names a bind address for people: empty is every address.
func OrAll(bind string) string {
	if bind == "" {
		return "0.0.0.0"
	}
	return bind
}
