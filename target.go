package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/project"
)

// target is where goship deploys: docker hosts over SSH (server.go) or a
// Kubernetes namespace (cluster.go). A target says only how the runner
// reaches it; every verb (deploy, rollback, releases, status, release)
// takes the same path for each: one job, the runner, one report and one
// notification (pipeline/runner). A new target is a root file with its
// object and jobTarget, and a runner package.
type target interface {
	goship() *Goship
	// jobTarget is the runner's view of the target, its secrets mounted
	// in m.
	jobTarget(m *mounts) *job.Target
}

// onTarget runs a verb that reads or acts on the target as a whole.
func onTarget(ctx context.Context, t target, verb job.Verb, j job.Job) (string, error) {
	m := &mounts{}
	j.Verb, j.Target = verb, t.jobTarget(m)
	return output(t.goship().run(ctx, j, m))
}

// deployTo deploys d: checked whole by the runner, then rolled out.
func deployTo(ctx context.Context, d *Deployment) (string, error) {
	j, m, err := d.job(ctx)
	if err != nil {
		return "", err
	}
	return output(d.target().goship().run(ctx, j, m))
}

// job is d as the runner's deploy job, with every file and secret it
// names mounted in m, and the repository's policy.
func (d *Deployment) job(ctx context.Context) (job.Job, *mounts, error) {
	if d.Invalid != "" {
		return job.Job{}, nil, fmt.Errorf("%s", d.Invalid)
	}
	t := d.target()
	g := t.goship()
	m := &mounts{}
	spec := d.spec()
	spec.Env = m.secret("env", d.Env)
	if d.RegistryUsername != "" || d.RegistryPassword != nil {
		spec.Pull = &job.Credentials{Username: d.RegistryUsername, Password: m.secret("registry-password", d.RegistryPassword)}
	}
	if d.ComposeFile != nil {
		spec.ComposeSettings().File = m.file("compose.yaml", d.ComposeFile)
	}
	if d.TLSCert != nil || d.TLSKey != nil {
		p := spec.ProxySettings()
		p.TLSCert, p.TLSKey = m.secret("tls-cert", d.TLSCert), m.secret("tls-key", d.TLSKey)
	}
	if d.Manifests != nil {
		spec.KubeSettings().Manifests = m.dir("manifests", d.Manifests)
	}
	if spec.Transfer == "ssh" {
		// The image built here, sent over the connection: nothing to pull.
		img, err := g.Build(ctx)
		if err != nil {
			return job.Job{}, nil, err
		}
		spec.Tarball = m.file("image.tar", img.AsTarball(dagger.ContainerAsTarballOpts{MediaTypes: dagger.ImageMediaTypesDockerMediaTypes}))
	}
	j := job.Job{Verb: job.VerbDeploy, Target: t.jobTarget(m), Deploy: &spec}
	if err := g.withPolicy(ctx, &j, m, d.Unverified); err != nil {
		return job.Job{}, nil, err
	}
	return j, m, nil
}

// rollbackRequest is a rollback's flags, the same on every target.
type rollbackRequest struct {
	to, healthTimeout, healthSettle, lockWait, registryUsername string
	registryPassword                                            *dagger.Secret
	unverified                                                  string
}

// rollbackOn brings back a recorded release of the app on t.
func rollbackOn(ctx context.Context, t target, r rollbackRequest) (string, error) {
	rb := job.Rollback{To: r.to}
	if err := durations(durationFlag{"health-timeout", r.healthTimeout, &rb.Health.Timeout},
		durationFlag{"health-settle", r.healthSettle, &rb.Health.Settle}, durationFlag{"lock-wait", r.lockWait, &rb.LockWait}); err != nil {
		return "", err
	}
	m := &mounts{}
	if r.registryUsername != "" || r.registryPassword != nil {
		rb.Pull = &job.Credentials{Username: r.registryUsername, Password: m.secret("registry-password", r.registryPassword)}
	}
	j := job.Job{Verb: job.VerbRollback, Target: t.jobTarget(m), Rollback: &rb}
	g := t.goship()
	if err := g.withPolicy(ctx, &j, m, r.unverified); err != nil {
		return "", err
	}
	return output(g.run(ctx, j, m))
}

// releaseTo runs ci, publish and d, in that order, each only when the one
// before passed, and returns the deployed reference.
func releaseTo(ctx context.Context, d *Deployment, to pushTo, sig signing) (string, error) {
	g := d.target().goship()
	if d.spec().Transfer == "ssh" {
		return "", fmt.Errorf("release publishes to a registry, so its deployment pulls from there: leave out --transfer=ssh")
	}
	// The deployment is checked before ci and publish run: a bad flag must
	// not cost a build and a push. The image is publish's own; a stand-in
	// on the same registry checks the rest.
	check := *d
	check.set(func(s *job.Deploy) error {
		s.Image = path.Join(to.host, "goship-release-check") + "@sha256:" + strings.Repeat("0", 64)
		s.Transfer = "registry"
		return nil
	})
	j, m, err := check.job(ctx)
	if err == nil {
		j.Check = true
		_, err = g.run(ctx, j, m)
	}
	if err != nil {
		return "", fmt.Errorf("release stopped before ci: the deploy would be refused: %w", err)
	}
	if _, err := g.Ci(ctx, "", ""); err != nil {
		return "", fmt.Errorf("release stopped before publish: %w", err)
	}
	ref, err := g.publish(ctx, to, "", "", sig)
	if err != nil {
		return "", fmt.Errorf("release stopped before deploy: %w", err)
	}
	deploy := *d
	deploy.set(func(s *job.Deploy) error { s.Image, s.Transfer = ref, "registry"; return nil })
	if deploy.RegistryUsername == "" && deploy.RegistryPassword == nil {
		deploy.RegistryUsername, deploy.RegistryPassword = to.username, to.password
	}
	out, err := deployTo(ctx, &deploy)
	if err != nil {
		return "", fmt.Errorf("published %s, but the deploy failed: %w", ref, err)
	}
	fmt.Fprintln(os.Stderr, out)
	return ref, nil
}

// withPolicy adds the repository's policy to j, when it has one, with
// the reason this call skips verification (if it does).
func (g *Goship) withPolicy(ctx context.Context, j *job.Job, m *mounts, unverified string) error {
	p, err := g.policyFor(ctx, m)
	if err != nil {
		return err
	}
	if p == nil && unverified != "" {
		p = &job.Policy{}
	}
	if p != nil {
		p.Unverified = unverified
	}
	j.Policy = p
	return nil
}

// policyFor mounts the repository (the policy's key paths are relative
// to it) and names the policy file in it; nil when the repository has no
// policy. A --policy the user named must exist.
func (g *Goship) policyFor(ctx context.Context, m *mounts) (*job.Policy, error) {
	ok, err := g.Source.Exists(ctx, g.Policy)
	if err != nil {
		return nil, fmt.Errorf("looking for the policy %s: %w", g.Policy, err)
	}
	if !ok {
		if g.policyGiven() {
			return nil, fmt.Errorf("--policy %s: no such file in the source", g.Policy)
		}
		return nil, nil
	}
	return &job.Policy{Repo: m.dir("repo", g.Source), File: path.Clean(g.Policy)}, nil
}

// policyGiven reports whether --policy named a file of its own.
func (g *Goship) policyGiven() bool { return g.Policy != project.DefaultPolicyFile }
