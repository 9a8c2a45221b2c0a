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
//	ports/<port>/maintenance/<app>.html, .retry
//	                         while present, app answers 503 with this page
//	ports/<port>/tls/<app>-<hash>.crt, .key (0600)
//	                         the certificate an HTTPS port serves for app
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
//
// Maintenance works the same way: each app's routes start with one that
// answers 503 while the app's page file exists (maintenance.go), so
// turning it on or off writes or removes a file and reloads nothing.
//
// A port serves HTTPS when its apps bring certificates (tls.go): the
// files are uploaded beside its config, and its Caddy also publishes the
// plain-HTTP port that redirects to it.
package proxy

import (
	"fmt"
	"strconv"
	"time"

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
	// TLS is set when the app is served over HTTPS; a switch without a
	// new certificate keeps it.
	TLS *RouteTLS `json:"tls,omitempty"`
}

// Record is where the proxy lives and how it reaches one app: the
// blue-green strategy keeps it in its releases' records, so rollbacks,
// status and maintenance find the proxy again.
type Record struct {
	Name  string        `json:"name"`
	Root  string        `json:"root"`
	Image string        `json:"image"`
	Bind  string        `json:"bind,omitempty"` // host IP the public port binds; empty: every address
	Port  int           `json:"port"`           // public port
	Host  string        `json:"host,omitempty"`
	Drain time.Duration `json:"drain"`
}

// Proxy changes the proxy on one server.
type Proxy struct {
	s   *host.App
	rec Record
	tls *TLS // the certificate a switch installs; nil keeps the app's
}

// On is the proxy rec describes, on the server a runs on (its SSH
// connection and compose command).
func On(a *host.App, rec Record) *Proxy { return &Proxy{s: a, rec: rec} }

// WithTLS is p installing t for the app it switches: its port then
// serves HTTPS with t's certificate. Nil keeps what the app has.
func (p *Proxy) WithTLS(t *TLS) *Proxy {
	cp := *p
	cp.tls = t
	return &cp
}

func (p *Proxy) service(port int) string { return "p" + strconv.Itoa(port) }

// Conflict is why r cannot join routes, or nil; r carries the
// certificate p installs, or the one its app has.
func (p *Proxy) Conflict(routes []Route, r Route) error {
	return Conflict(routes, p.withTLS(routes, r))
}

// Conflict is why r cannot join routes, or nil.
func Conflict(routes []Route, r Route) error {
	if err := tlsConflict(routes, r); err != nil {
		return err
	}
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
