package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// Deployment is one release on its way to a server or a cluster. Its
// With… functions each set one group of settings; run deploys it, release
// runs ci and publish first. Settings a target does not take (a proxy on
// a cluster, an ingress on a server) are refused by the runner, before
// anything is touched.
type Deployment struct {
	// The docker hosts this deploys to (or nil).
	// +private
	Server *Server
	// The cluster this deploys to (or nil).
	// +private
	Cluster *Cluster
	// The settings, as the job.Deploy the runner takes (JSON).
	// +private
	Spec string
	// The app's .env file.
	// +private
	Env *dagger.Secret
	// Registry username for the target's pull.
	// +private
	RegistryUsername string
	// Registry password for the target's pull.
	// +private
	RegistryPassword *dagger.Secret
	// The user's compose file (servers).
	// +private
	ComposeFile *dagger.File
	// The user's manifests or kustomization (clusters).
	// +private
	Manifests *dagger.Directory
	// Certificate the blue-green proxy serves HTTPS with (servers).
	// +private
	TLSCert *dagger.Secret
	// Private key of the certificate.
	// +private
	TLSKey *dagger.Secret
	// Why this deployment skips verification on a target that remembers a verified release.
	// +private
	Unverified string
	// The first flag error, reported by run and release (a With… function cannot fail).
	// +private
	Invalid string
}

// newDeployment starts a deployment to t with spec.
func newDeployment(t target, spec job.Deploy) *Deployment {
	d := &Deployment{}
	switch t := t.(type) {
	case *Server:
		d.Server = t
	case *Cluster:
		d.Cluster = t
	}
	d.set(func(s *job.Deploy) error { *s = spec; return nil })
	return d
}

// target is the server or the cluster this deploys to, chosen when the
// deployment was made.
func (d *Deployment) target() target {
	if d.Server != nil {
		return d.Server
	}
	return d.Cluster
}

// spec is the settings as the runner takes them.
func (d *Deployment) spec() job.Deploy {
	var s job.Deploy
	_ = json.Unmarshal([]byte(d.Spec), &s) // written by set alone
	return s
}

// set changes the settings; the first error is kept for run to report,
// naming the flag.
func (d *Deployment) set(change func(*job.Deploy) error) *Deployment {
	s := d.spec()
	if err := change(&s); err != nil && d.Invalid == "" {
		d.Invalid = err.Error()
	}
	data, _ := json.Marshal(s) // plain data: cannot fail
	d.Spec = string(data)
	return d
}

// durations parses duration flags into their fields, naming the bad one.
func durations(flags ...durationFlag) error {
	for _, f := range flags {
		d, err := job.ParseDuration(f.name, f.value)
		if err != nil {
			return err
		}
		*f.out = d
	}
	return nil
}

// durationFlag is one duration flag: its name, its text, where it goes.
type durationFlag struct {
	name, value string
	out         *job.Duration
}

// WithBlueGreen deploys blue-green: the new release starts beside the
// serving one, passes its health gate and settle window with no traffic,
// and only then takes the traffic in one switch; the old one drains and
// stays ready for an instant switch back. On servers a shared Caddy proxy
// switches (see with-proxy), on a cluster the live Service's selector.
func (d *Deployment) WithBlueGreen(
	// How long the old release keeps running after the switch (finishing in-flight requests; on a cluster, ready for an instant switch back while the new one stays watched); default 30s on servers, 10s on a cluster.
	// +optional
	drain string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		s.Strategy = "blue-green"
		return durations(durationFlag{"drain", drain, &s.Drain})
	})
}

// WithRecreate deploys in place: compose recreates the service on
// servers, a rolling update replaces the pods on a cluster. This is what
// a new app gets unless with-blue-green is chained; an app keeps its
// strategy from deploy to deploy.
func (d *Deployment) WithRecreate() *Deployment {
	return d.set(func(s *job.Deploy) error { s.Strategy = "recreate"; return nil })
}

// WithHealth sets the gate every release passes before it takes traffic.
func (d *Deployment) WithHealth(
	// HTTP path the gate GETs; default /healthz. On servers, "-" for the container HEALTHCHECK only.
	// +optional
	path string,
	// Servers: host port the gate checks; default: the host port of --publish.
	// +optional
	port int,
	// How long the new release has to become healthy; default 60s on servers, 5m on a cluster.
	// +optional
	timeout string,
	// How long it must then stay healthy (every probe passing, no restart) before it goes live; default 5s on servers, 10s on a cluster.
	// +optional
	settle string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		s.Health.Path, s.Health.Port = path, port
		return durations(durationFlag{"timeout", timeout, &s.Health.Timeout}, durationFlag{"settle", settle, &s.Health.Settle})
	})
}

// WithTimeouts bounds the steps that wait on something else: the lock,
// and on servers the pull and each compose up. A step that runs out is
// ended, with the previous release still serving.
func (d *Deployment) WithTimeouts(
	// Wait up to this long (e.g. 2m) for another deploy of the app to let go of its lock, logging who holds it, instead of failing at once.
	// +optional
	lockWait string,
	// Servers: how long the pull (or docker load with --transfer=ssh) may take; default 10m.
	// +optional
	pull string,
	// Servers: how long each compose up or container start may take; default 3m.
	// +optional
	up string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		if err := durations(durationFlag{"lock-wait", lockWait, &s.LockWait}); err != nil || pull+up == "" {
			return err
		}
		c := s.ComposeSettings()
		return durations(durationFlag{"pull", pull, &c.PullTimeout}, durationFlag{"up", up, &c.UpTimeout})
	})
}

// WithUnverified deploys without verification to a target that remembers
// a verified release. The reason is logged on the target and in the
// notification; nothing else lifts the policy a target holds.
func (d *Deployment) WithUnverified(
	// Why, e.g. "hotfix built on a laptop, INC-1234".
	reason string,
) *Deployment {
	d.Unverified = reason
	if reason == "" {
		return d.set(func(*job.Deploy) error {
			return fmt.Errorf("with-unverified needs a reason: it is logged on the target")
		})
	}
	return d
}

// Run deploys the image: checked whole first, then rolled out with its
// health gate, and rolled back automatically when the gate fails.
// +cache="never"
func (d *Deployment) Run(ctx context.Context) (string, error) {
	return deployTo(ctx, d)
}

// Release runs ci, then publish (signed with --sign-key), then this
// deployment with the pushed digest, and returns the deployed reference.
// The deployment's settings are checked before ci runs; nothing is pushed
// unless every check passed, nothing is deployed unless the push
// verified.
// +cache="never"
func (d *Deployment) Release(
	ctx context.Context,
	// Registry host, e.g. registry.cn-hangzhou.aliyuncs.com (see publish).
	registryHost string,
	// Namespace (required for ACR).
	// +optional
	namespace string,
	// Repository name; default: the app name.
	// +optional
	repository string,
	// Registry username for the push (and the target's pull, unless the deployment names its own).
	username string,
	// Registry password.
	password *dagger.Secret,
	// Private key that signs the release after ci passed (see publish).
	// +optional
	signKey *dagger.Secret,
	// Password of an encrypted --sign-key.
	// +optional
	signPassword *dagger.Secret,
	// The CI run the provenance names (see publish).
	// +optional
	workflowRun string,
) (string, error) {
	return releaseTo(ctx, d, pushTo{registryHost, namespace, repository, username, password}, signing{signKey, signPassword, workflowRun})
}
