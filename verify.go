package main

import (
	"context"
	"fmt"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// Verify checks an image as a deploy does: signed by a trusted key, with
// the attestations the repository's policy requires (by default the SLSA
// provenance that says every ci step passed, not older than the policy's
// gate age), in either storage scheme (OCI 1.1 referrer or tag). It says
// who signed what: the key, the commit, the CI run, goship's version and
// every step's outcome. The registry CA and plain-HTTP opt-ins of the
// constructor apply.
// +cache="never"
func (g *Goship) Verify(
	ctx context.Context,
	// Image to check, repo@sha256:… (a tag is resolved once, and the digest it names is what is checked).
	image string,
	// Public key (PEM) to verify with instead of the policy's keys, e.g. the repository's .goship/cosign.pub.
	// +optional
	key *dagger.File,
	// Registry username, for a registry that needs one to read.
	// +optional
	username string,
	// Registry password.
	// +optional
	password *dagger.Secret,
) (string, error) {
	m := &mounts{}
	v := job.Verify{Image: image, Key: m.file("cosign.pub", key)}
	if username != "" || password != nil {
		v.Pull = &job.Credentials{Username: username, Password: m.secret("registry-password", password)}
	}
	j := job.Job{Verb: job.VerbVerify, Verify: &v}
	if err := g.withPolicy(ctx, &j, m, ""); err != nil {
		return "", err
	}
	if j.Policy == nil && key == nil {
		return "", fmt.Errorf("nothing to verify with: give --key (a public key, e.g. .goship/cosign.pub) or declare the keys in %s", g.Policy)
	}
	return output(g.run(ctx, j, m))
}

// ClusterImagePolicy exports the repository's signing policy as sigstore
// policy-controller ClusterImagePolicy objects (the same keys, required
// attestations, gate age and allowed images), so ACK or any cluster with
// policy-controller enforces it at admission too: chain
// `export --path=cluster-image-policy.yaml`, then kubectl apply it.
// +cache="never"
func (g *Goship) ClusterImagePolicy(ctx context.Context) (*dagger.File, error) {
	m := &mounts{}
	j := job.Job{Verb: job.VerbPolicy}
	if err := g.withPolicy(ctx, &j, m, ""); err != nil {
		return nil, err
	}
	if j.Policy == nil {
		return nil, fmt.Errorf("the repository has no policy: declare one in %s", g.Policy)
	}
	res, err := g.run(ctx, j, m)
	if err != nil {
		return nil, err
	}
	return dag.File("cluster-image-policy.yaml", res.Output), nil
}
