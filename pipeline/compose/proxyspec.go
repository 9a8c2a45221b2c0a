package compose

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// DefaultDrain is how long the old color may finish in-flight requests
// after a blue-green switch.
const DefaultDrain = 30 * time.Second

// Proxy is the reverse proxy blue-green deploys switch. One proxy serves
// every app on a server; each app has its own public port (Spec.Publish)
// or its own host name on a shared port.
type Proxy struct {
	// Name is the proxy's compose project and its private docker network
	// (default goship-proxy).
	Name string
	// Root is the proxy's directory on the server (default
	// /opt/goship-proxy).
	Root string
	// Image is the proxy image (default DefaultProxyImage). It must run
	// Caddy v2 at /usr/bin/caddy.
	Image string
	// Host routes only requests for this host name to the app; empty
	// means every request on the app's port.
	Host string
	// Drain is the longest the old release may take to finish its
	// in-flight requests after the switch (default 30s). goship stops the
	// old container as soon as it has no open connections left.
	Drain time.Duration
	// TLS is the certificate the app's port serves HTTPS with (nil: the
	// one it has, if any; see proxy.ParseTLS).
	TLS *proxy.TLS
}

// given says whether p asks for anything beyond an image. A recreate
// deploy refuses proxy settings, but not an image alone: a module may
// fill it from a mirror for every deploy.
func (p Proxy) given() bool {
	return p.Name != "" || p.Root != "" || p.Host != "" || p.Drain != 0 || p.TLS != nil
}

var hostNameRE = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// withDefaults validates the proxy settings; bind and port are the public
// address from Publish.
func (p Proxy) withDefaults() (Proxy, error) {
	if p.Name == "" {
		p.Name = "goship-proxy"
	}
	if err := host.ValidateApp(p.Name); err != nil {
		return p, fmt.Errorf("proxy name: %w", err)
	}
	if p.Root == "" {
		p.Root = "/opt/goship-proxy"
	}
	if !host.ValidDir(p.Root) {
		return p, fmt.Errorf("proxy dir %q: want an absolute path without spaces or '..'", p.Root)
	}
	p.Root = strings.TrimRight(p.Root, "/")
	if p.Image == "" {
		p.Image = image.DefaultProxy().Ref()
	}
	if err := validImage(p.Image); err != nil {
		return p, fmt.Errorf("proxy image %q: %w", p.Image, err)
	}
	if p.Host != "" && !hostNameRE.MatchString(p.Host) {
		return p, fmt.Errorf("proxy host %q: want a lower-case DNS name such as app.example.com", p.Host)
	}
	if p.Drain == 0 {
		p.Drain = DefaultDrain
	}
	if p.Drain < 0 {
		return p, fmt.Errorf("drain %s: must not be negative", p.Drain)
	}
	return p, nil
}

// validImage accepts repo:tag, repo@digest and repo:tag@digest (docker
// runs the digest and shows the tag); go-containerregistry parses the
// first two only.
func validImage(ref string) error {
	repo, digest, pinned := strings.Cut(ref, "@")
	if !pinned {
		_, err := name.ParseReference(ref)
		return err
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		if _, err := name.NewTag(repo); err != nil {
			return err
		}
		repo = repo[:i]
	}
	_, err := name.NewDigest(repo + "@" + digest)
	return err
}

// proxyRecord is where spec's app is reached through the proxy.
func (s Spec) proxyRecord() proxy.Record {
	bind, port, _ := parsePublish(s.Publish) // valid: see withDefaults
	return proxy.Record{Name: s.Proxy.Name, Root: s.Proxy.Root, Image: s.Proxy.Image, Bind: bind, Port: port, Host: s.Proxy.Host, Drain: s.Proxy.Drain}
}

// errProxyNeedsBlueGreen refuses proxy settings for a strategy without
// the proxy.
func errProxyNeedsBlueGreen(app string, s Strategy) error {
	return fmt.Errorf("proxy settings (with-proxy) need with-%s (%s would deploy with %s)", StrategyBlueGreen, app, s)
}
