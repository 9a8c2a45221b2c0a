package main

import (
	"context"
	"fmt"
	"os"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/release"
)

// Publish pushes the runtime image (every platform) to a registry, ACR
// first among them, and returns the verified immutable reference
// <repository>@sha256:…. The address, the credentials and a signing key
// are checked before anything is built. With --sign-key, ci runs first
// (a cache hit after ci) and the digest is signed only when every step
// passed, with SLSA provenance, the CycloneDX SBOM and the vulnerability
// report of every platform attested (Sigstore bundles; see docs/signing.md).
// +cache="never"
func (g *Goship) Publish(
	ctx context.Context,
	// Registry host, e.g. registry.cn-hangzhou.aliyuncs.com or crpi-xxx.cn-hangzhou.personal.cr.aliyuncs.com.
	registryHost string,
	// Namespace (required for ACR).
	// +optional
	namespace string,
	// Repository name; default: the app name.
	// +optional
	repository string,
	// Registry username (ACR: the account or RAM user; cr_temp_user for a temporary token).
	username string,
	// Registry password or token.
	password *dagger.Secret,
	// Tag sets: timestamp, sha, semver, latest; default all four.
	// +optional
	tags string,
	// Image media types: docker (default for ACR, which rejects some OCI artifacts) or oci.
	// +optional
	mediaTypes string,
	// Private key (PEM) that signs the release after ci passed: cosign's encrypted format (cosign generate-key-pair) or unencrypted PKCS#8, e.g. file://cosign.key or env://COSIGN_KEY.
	// +optional
	signKey *dagger.Secret,
	// Password of an encrypted --sign-key (cosign's COSIGN_PASSWORD).
	// +optional
	signPassword *dagger.Secret,
	// The CI run the provenance names, e.g. $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID.
	// +optional
	workflowRun string,
) (string, error) {
	return g.publish(ctx, pushTo{registryHost, namespace, repository, username, password}, tags, mediaTypes, signing{signKey, signPassword, workflowRun})
}

// pushTo is where a publish pushes, and with which credentials.
type pushTo struct {
	host, namespace, repository, username string
	password                              *dagger.Secret
}

// signing is the key a publish signs with, and the run it names.
type signing struct {
	key, password *dagger.Secret
	workflowRun   string
}

// publish checks the address, tags and credentials (and the key), then
// with a key runs the ci gate, builds every platform and has the runner
// push, verify and sign.
func (g *Goship) publish(ctx context.Context, to pushTo, tags, mediaTypes string, sig signing) (string, error) {
	host, err := registry.ParseHost(to.host)
	if err != nil {
		return "", err
	}
	for _, w := range host.Warnings() {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	repoName := to.repository
	if repoName == "" {
		if repoName, err = g.appName(ctx); err != nil {
			return "", err
		}
	}
	repo, err := registry.NewRepository(host, to.namespace, repoName)
	if err != nil {
		return "", err
	}
	sets, err := release.ParseSets(tags)
	if err != nil {
		return "", err
	}
	tagList, err := release.Tags(g.runContext(), sets)
	if err != nil {
		return "", err
	}
	types, err := g.mediaTypes(host, mediaTypes)
	if err != nil {
		return "", err
	}
	if to.password == nil {
		return "", fmt.Errorf("--password is required: the registry password or token, e.g. env://ACR_PASSWORD")
	}
	m := &mounts{}
	p := job.Publish{Repository: repo.String(), Tags: tagList,
		Push: &job.Credentials{Username: to.username, Password: m.secret("registry-password", to.password)}}
	if sig.key != nil || sig.password != nil {
		p.Sign = &job.Sign{Key: m.secret("sign-key", sig.key), Password: m.secret("sign-password", sig.password), WorkflowRun: sig.workflowRun}
	}
	// The runner checks the credentials against the registry, and the key
	// and its password, before anything is built.
	if _, err := g.run(ctx, job.Job{Verb: job.VerbPublish, Check: true, Publish: &p}, m); err != nil {
		return "", err
	}
	if p.Sign != nil {
		evidence, err := g.evidence(ctx)
		if err != nil {
			return "", err
		}
		p.Sign.Evidence = m.dir("evidence", evidence)
	}
	variants, err := g.platformImages(ctx)
	if err != nil {
		return "", err
	}
	p.Layout = m.file("image.tar", variants[0].AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants[1:], MediaTypes: types}))
	res, err := g.run(ctx, job.Job{Verb: job.VerbPublish, Publish: &p}, m)
	if err != nil {
		return "", err
	}
	if res.Output != "" {
		fmt.Fprintln(os.Stderr, res.Output)
	}
	return res.Reference, nil
}

func (g *Goship) mediaTypes(host registry.Host, choice string) (dagger.ImageMediaTypes, error) {
	switch choice {
	case "":
		if host.IsACR() {
			return dagger.ImageMediaTypesDockerMediaTypes, nil
		}
		return dagger.ImageMediaTypesOcimediaTypes, nil
	case "docker":
		return dagger.ImageMediaTypesDockerMediaTypes, nil
	case "oci":
		return dagger.ImageMediaTypesOcimediaTypes, nil
	}
	return "", fmt.Errorf("--media-types %q: want docker or oci", choice)
}
