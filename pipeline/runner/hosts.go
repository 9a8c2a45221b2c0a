package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/proxy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// hosts is the docker-host target: one host or a fleet, reached over
// SSH, each release a compose project (pipeline/deploy, pipeline/fleet).
type hosts struct {
	e       *env
	cfg     job.Hosts
	configs []sshconn.Config
}

// newHosts reads the hosts, the key and known_hosts and checks them all,
// connecting to none.
func newHosts(e *env, h job.Hosts) (*hosts, error) {
	addrs, err := fleet.ParseHostList(h.Addrs)
	if err != nil {
		return nil, err
	}
	if h.File != "" {
		data, err := secretBytes(h.File)
		if err != nil {
			return nil, fmt.Errorf("reading --hosts-file: %w", err)
		}
		more, err := fleet.ParseHostsFile(data)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, more...)
	}
	if len(addrs) == 0 {
		return nil, errors.New("no server: give --host (repeat it for a fleet) or --hosts-file")
	}
	base := sshconn.Config{Port: h.Port, User: h.User}
	if base.User == "" {
		base.User = fleet.DefaultUser
	}
	if base.PrivateKey, err = secretBytes(h.Key); err != nil {
		return nil, fmt.Errorf("reading --key: %w", err)
	}
	if base.KnownHosts, err = secretBytes(h.KnownHosts); err != nil {
		return nil, fmt.Errorf("reading --known-hosts: %w", err)
	}
	pass, err := secretText(h.Passphrase)
	if err != nil {
		return nil, fmt.Errorf("reading --key-passphrase: %w", err)
	}
	base.Passphrase = []byte(pass)
	if base.Jump, err = sshconn.ParseJumps(h.Jump); err != nil {
		return nil, err
	}
	cfgs, err := fleet.Configs(addrs, base)
	if err != nil {
		return nil, err
	}
	for _, cfg := range cfgs {
		if err := sshconn.Check(cfg); err != nil {
			return nil, err
		}
	}
	return &hosts{e: e, cfg: h, configs: cfgs}, nil
}

func (h *hosts) Name() string { return "server" }

// hostPlan is a checked compose deploy over the hosts.
type hostPlan struct {
	h    *hosts
	plan fleet.Plan
}

// Plan builds the compose release and the rollout and checks both whole.
func (h *hosts) Plan(ctx context.Context, d job.Deploy) (Planned, error) {
	if d.Kube != nil {
		return nil, errors.New("with-resources, with-ingress, without-disruption-budget and --manifests are cluster settings; a server deploys compose releases")
	}
	c := d.Compose
	if c == nil {
		c = &job.Compose{}
	}
	run := h.e.run
	spec := compose.Spec{
		App: run.App, AppDir: h.cfg.AppDir, Service: h.cfg.Service, Image: d.Image,
		Version: run.Version, Commit: run.Commit, Who: run.Who,
		AllowOutsidePaths: c.AllowOutsidePaths, ContainerPort: run.Port, Publish: c.Publish, Keep: d.Keep,
		Health:   host.Health{Path: d.Health.Path, Port: d.Health.Port, Timeout: d.Health.Timeout.Std(), Settle: d.Health.Settle.Std()},
		Timeouts: host.Timeouts{Pull: c.PullTimeout.Std(), Up: c.UpTimeout.Std(), Migrate: c.MigrateTimeout.Std()},
		LockWait: d.LockWait.Std(), Migrate: c.Migrate,
		LockWaiting: func(l *host.LockedError) { h.e.logf("%s", l.Waiting(d.LockWait.Std())) },
	}
	var err error
	if spec.Strategy, err = compose.ParseStrategy(d.Strategy); err != nil {
		return nil, err
	}
	if spec.Compose, err = secretBytes(c.File); err != nil {
		return nil, fmt.Errorf("reading --compose: %w", err)
	}
	if spec.Env, err = secretBytes(d.Env); err != nil {
		return nil, fmt.Errorf("reading --env: %w", err)
	}
	if spec.Proxy, err = h.proxy(d, c.Proxy); err != nil {
		return nil, err
	}
	if c.Proxy != nil {
		spec.Timeouts.Switch = c.Proxy.SwitchTimeout.Std()
	}
	if spec.Transfer, err = transfer(d); err != nil {
		return nil, err
	}
	rollout := fleet.Rollout{Parallel: c.Parallel, Log: h.e.log}
	if c.Canary > 0 {
		rollout.Canary = &fleet.Canary{Pause: c.Canary.Std()}
	}
	plan, err := fleet.NewPlan(h.configs, spec, rollout)
	if err != nil {
		return nil, err
	}
	return &hostPlan{h: h, plan: plan}, nil
}

// transfer is how the hosts get the image: a pull with the deploy's
// credentials, or the tarball the module built, over SSH.
func transfer(d job.Deploy) (host.Transfer, error) {
	switch d.Transfer {
	case "", "registry":
		pull, err := credentials(d.Pull)
		if err != nil {
			return nil, err
		}
		if d.Image == "" {
			return nil, errors.New("--image is required with --transfer=registry (use the reference publish returned)")
		}
		return host.Registry{Username: pull.Username, Password: pull.Password}, nil
	case "ssh":
		return host.SSH{Tarball: d.Tarball}, nil
	}
	return nil, fmt.Errorf("--transfer %q: want registry or ssh", d.Transfer)
}

// proxy is blue-green's proxy as the deploy asks for it: the image (with
// a mirror, the pinned default through it), the certificate read and
// checked.
func (h *hosts) proxy(d job.Deploy, p *job.Proxy) (compose.Proxy, error) {
	out := compose.Proxy{Drain: d.Drain.Std()}
	if p == nil {
		p = &job.Proxy{}
	}
	out.Image, out.Host, out.Root = p.Image, p.Host, p.Dir
	if out.Image == "" && h.e.run.Mirror != "" {
		img, err := image.Mirror(image.DefaultProxy().Ref(), h.e.run.Mirror)
		if err != nil {
			return out, err
		}
		out.Image = img
	}
	if p.TLSCert == "" && p.TLSKey == "" {
		return out, nil
	}
	cert, err := secretBytes(p.TLSCert)
	if err != nil {
		return out, fmt.Errorf("reading --tls-cert: %w", err)
	}
	key, err := secretBytes(p.TLSKey)
	if err != nil {
		return out, fmt.Errorf("reading --tls-key: %w", err)
	}
	redirect := p.TLSRedirectFrom
	switch {
	case redirect == 0:
		redirect = proxy.DefaultRedirectFrom
	case redirect < 0:
		redirect = 0
	}
	out.TLS, err = proxy.ParseTLS(cert, key, redirect, time.Now())
	return out, err
}

// Images are every service's image of the release: the app's and its
// sidecars'.
func (p *hostPlan) Images() []string {
	imgs, err := compose.Images(p.plan.Spec)
	if err != nil {
		return []string{p.plan.Spec.Image} // Plan validated the spec: not reached
	}
	out := make([]string, 0, len(imgs))
	for _, im := range imgs {
		out = append(out, im.Image)
	}
	return out
}

// Pin deploys the app's image by its verified digest; sidecars are
// pinned by digest already (the policy refuses them otherwise).
func (p *hostPlan) Pin(pinned map[string]string) error {
	if ref, ok := pinned[p.plan.Spec.Image]; ok {
		p.plan.Spec.Image = ref
	}
	return nil
}

// composeMark is the guard's policy as a host records it.
func composeMark(g Guard) *compose.PolicyMark {
	if g.Policy == nil {
		return nil
	}
	return &compose.PolicyMark{Name: g.Policy.Name, Digest: g.Policy.Digest}
}

// Run rolls the release out over the hosts; a host that remembers a
// policy refuses it unless the guard says it was verified, or why not.
func (p *hostPlan) Run(ctx context.Context, guard Guard) (Report, error) {
	p.plan.Spec.Verified, p.plan.Spec.Unverified = composeMark(guard), guard.Unverified
	rep, err := fleet.Run(ctx, p.plan)
	return hostReport(rep), err
}

// hostReport is a fleet run as every target reports.
func hostReport(rep *fleet.Report) Report {
	if rep == nil {
		return Report{}
	}
	return Report{Outcome: rep.Outcome, Summary: fleet.Summary(rep), Event: rep.Event()}
}

// Rollback brings every host back to its previous healthy release (or
// the named one), one host at a time.
func (h *hosts) Rollback(ctx context.Context, r job.Rollback, guard Guard) (Report, error) {
	rep, err := fleet.Rollback(ctx, h.configs, compose.RollbackSpec{
		App: h.e.run.App, AppDir: h.cfg.AppDir, Service: h.cfg.Service, To: r.To, Who: h.e.run.Who,
		Health:      host.Health{Timeout: r.Health.Timeout.Std(), Settle: r.Health.Settle.Std()},
		Verify:      guard.Verify,
		LockWait:    r.LockWait.Std(),
		LockWaiting: func(l *host.LockedError) { h.e.logf("%s", l.Waiting(r.LockWait.Std())) },
		Verified:    composeMark(guard),
		Unverified:  guard.Unverified,
	})
	return hostReport(rep), err
}

func (h *hosts) Releases(ctx context.Context) (string, error) {
	return fleet.FormatHostReleases(fleet.Releases(ctx, h.configs, h.e.run.App, h.cfg.AppDir))
}

func (h *hosts) Status(ctx context.Context) (string, error) {
	return fleet.FormatHostStatus(fleet.Status(ctx, h.configs, h.e.run.App, h.cfg.AppDir, h.cfg.Service))
}
