package host

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/project"
)

// Health configures the gate.
type Health struct {
	// Path is the HTTP path checked through the SSH tunnel (default
	// /healthz); "-" disables the HTTP check (container health only).
	Path string
	// Port is the server port the service is published on (default: the
	// host port of Publish).
	Port int
	// Host is the server address the check connects to: the IP Publish
	// binds, or 127.0.0.1 when it binds every address.
	Host string
	// Timeout is how long the new release has to become healthy (default 60s).
	Timeout time.Duration
	// Interval between probes (default 1s).
	Interval time.Duration
	// Settle is how long the release must stay healthy after its first
	// passing probe (default 5s; negative: no settle window). Every probe
	// in the window must pass, and the container must neither restart nor
	// turn unhealthy, so a release that answers once and then degrades
	// never goes live. It adds to Timeout.
	Settle time.Duration
}

// Gate defaults, declared once: the root module's flags and the
// pipeline's defaults use these.
const (
	DefaultHealthTimeout = 60 * time.Second
	DefaultSettle        = 5 * time.Second
)

// WithDefaults fills the gate's defaults (the port comes from the spec)
// and checks the path.
func (h Health) WithDefaults() (Health, error) {
	if h.Path == "" {
		h.Path = project.DefaultHealthPath
	}
	if err := checkHealthPath(h.Path); err != nil {
		return h, err
	}
	if h.Interval < 0 {
		return h, fmt.Errorf("health interval %s: must not be negative", h.Interval)
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Interval == 0 {
		h.Interval = time.Second
	}
	if h.Settle == 0 {
		h.Settle = DefaultSettle
	}
	if h.Host == "" {
		h.Host = "127.0.0.1"
	}
	return h, nil
}

// checkHealthPath accepts "-" or an HTTP path (with a query, if wanted):
// a path the gate cannot even send would otherwise fail only at the gate,
// after the new release started.
func checkHealthPath(p string) error {
	if p == "-" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("health path %q must start with /", p)
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
		return fmt.Errorf("health path %q: no spaces, control characters or '#' (percent-encode them)", p)
	}
	if _, err := url.ParseRequestURI(p); err != nil {
		return fmt.Errorf("health path %q is not a valid HTTP path: %w", p, err)
	}
	return nil
}

// GateOf is the gate a release passed when it was deployed (its record),
// with h's timing; h's path, host and port only stand in for records
// from before goship recorded them.
func GateOf(rec Record, h Health) Health {
	if rec.HealthPort != 0 {
		h.Port = rec.HealthPort
	}
	if rec.HealthPath != "" {
		h.Path = rec.HealthPath
	}
	if rec.HealthHost != "" {
		h.Host = rec.HealthHost
	}
	return h
}
