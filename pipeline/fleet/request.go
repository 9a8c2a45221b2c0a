package fleet

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/release"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Request is a deploy as the user asked for it: the flags of `server …
// deploy`, durations and names still text, secrets read. Plan checks
// all of it, for every strategy, before anything connects.
type Request struct {
	// Spec holds what is already typed: the app, where it lives, who and
	// what is deployed, compose, env, publish, health path and port, keep.
	Spec compose.Spec
	// Transfer is registry or ssh. RegistryUsername and RegistryPassword
	// are the server's pull credentials; Tarball the image file an ssh
	// transfer streams (each host opens its own reader).
	Transfer                           string
	RegistryUsername, RegistryPassword string
	Tarball                            string
	// Strategy, ProxyHost, ProxyImage, ProxyDir and Drain are the flags of
	// the same names.
	Strategy, ProxyHost, ProxyImage, ProxyDir, Drain string
	// TLS is the certificate blue-green's proxy serves HTTPS with, checked
	// (nil: the app keeps what it has).
	TLS *proxy.TLS
	// HealthTimeout and HealthSettle are durations such as 60s.
	HealthTimeout, HealthSettle string
	// PullTimeout, UpTimeout and SwitchTimeout bound the pull (or docker
	// load), each compose up and blue-green's proxy switch (durations;
	// empty: the defaults, see host.Timeouts).
	PullTimeout, UpTimeout, SwitchTimeout string
	// LockWait is how long each host waits for a deploy lock another
	// deploy holds (a duration; empty: fail at once).
	LockWait string
	// Migrate is the migration command, run once per run on the first
	// host (see compose.Spec.Migrate); MigrateTimeout bounds it.
	Migrate, MigrateTimeout string
	// Parallel and Canary are the fleet's rollout (see Plan).
	Parallel int
	Canary   string
	// Log gets the run's progress lines.
	Log io.Writer
}

// Plan turns the request into a rolling deploy over hosts, or says which
// flag is wrong; it touches no host, so a caller checks the request with
// it before an expensive step (exporting the tarball) and plans again
// after. close lets go of the tarball readers the run opened.
func (r Request) Plan(hosts []sshconn.Config) (plan Plan, close func(), err error) {
	close = func() {}
	spec := r.Spec
	kind, err := host.ParseTransferName(r.Transfer)
	if err != nil {
		return Plan{}, close, err
	}
	if spec.Strategy, err = compose.ParseStrategy(r.Strategy); err != nil {
		return Plan{}, close, err
	}
	d, err := parseDurations(map[string]string{"health-timeout": r.HealthTimeout, "health-settle": r.HealthSettle, "drain": r.Drain, "canary": r.Canary,
		"pull-timeout": r.PullTimeout, "up-timeout": r.UpTimeout, "switch-timeout": r.SwitchTimeout, "lock-wait": r.LockWait,
		"migrate-timeout": r.MigrateTimeout})
	if err != nil {
		return Plan{}, close, err
	}
	spec.Health.Timeout, spec.Health.Settle = d["health-timeout"], d["health-settle"]
	spec.Timeouts = host.Timeouts{Pull: d["pull-timeout"], Up: d["up-timeout"], Switch: d["switch-timeout"], Migrate: d["migrate-timeout"]}
	spec.LockWait, spec.Migrate = d["lock-wait"], r.Migrate
	spec.Proxy = compose.Proxy{Image: r.ProxyImage, Host: r.ProxyHost, Drain: d["drain"], Root: r.ProxyDir, TLS: r.TLS}
	plan = Plan{Hosts: hosts, Parallel: r.Parallel, Log: r.Log}
	if c, ok := d["canary"]; ok {
		plan.Canary = &Canary{Pause: c}
	}
	switch kind {
	case "registry":
		if spec.Image == "" {
			return Plan{}, close, fmt.Errorf("--image is required with --transfer=registry (use the reference publish returned)")
		}
		if (r.RegistryUsername == "") != (r.RegistryPassword == "") {
			return Plan{}, close, fmt.Errorf("--registry-username and --registry-password go together: give both for a private registry, neither for a public one")
		}
		spec.Transfer = host.Registry{Host: registryOf(spec.Image), Username: r.RegistryUsername, Password: r.RegistryPassword}
	case "ssh":
		if spec.Image == "" {
			spec.Image = "goship.local/" + spec.App + ":" + release.TagSafe(spec.Version)
		}
		// No tarball yet is a check before the export: the plan is
		// checked, and refused by Run until a tarball is given.
		if r.Tarball != "" {
			fi, err := os.Stat(r.Tarball)
			if err != nil {
				return Plan{}, close, fmt.Errorf("image tarball for --transfer=ssh: %w", err)
			}
			if !fi.Mode().IsRegular() {
				return Plan{}, close, fmt.Errorf("image tarball %q for --transfer=ssh: not a regular file", r.Tarball)
			}
		}
		spec.Transfer = host.SSH{}
		var opened []*os.File
		close = func() {
			for _, f := range opened {
				_ = f.Close()
			}
		}
		// Each host reads its own copy of the tarball: a reader is read once.
		plan.ForHost = func(_ sshconn.Config, spec compose.Spec) compose.Spec {
			f, err := os.Open(r.Tarball)
			if r.Tarball == "" || err != nil {
				spec.Transfer = host.SSH{} // refused by the deploy: no tarball
				return spec
			}
			opened = append(opened, f)
			spec.Transfer = host.SSH{Tarball: f}
			return spec
		}
	}
	// Everything is checked here, before any host is dialed.
	if err := spec.Validate(); err != nil {
		return Plan{}, close, err
	}
	plan.Spec = spec
	if err := plan.checkRollout(); err != nil {
		return Plan{}, close, err
	}
	return plan, close, nil
}

// registryOf is the registry host an image reference names: its first
// path segment when that is a host (has a dot or a port, or is
// localhost). Validate refuses references without one.
func registryOf(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// parseDurations parses named Go durations ("30s"), naming the bad one.
func parseDurations(in map[string]string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for name, v := range in {
		if v == "" {
			continue // not given: the default applies
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: want a duration such as 30s or 2m", name, v)
		}
		out[name] = d
	}
	return out, nil
}

// ParseDurations parses the root's duration flags the same way (name:
// value), naming the bad one.
func ParseDurations(in map[string]string) (map[string]time.Duration, error) {
	return parseDurations(in)
}
