package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/release"
)

// Publish pushes the runtime image (every platform) to a registry, ACR
// first among them, and returns the verified immutable reference
// <repository>@sha256:…. The address and the credentials (and a signing
// key) are checked before anything is built. With --sign-key the digest
// is signed, and its SBOM, Trivy report and gate statement attested, in
// cosign's tag scheme (sha256-<digest>.sig/.att).
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
	// Tag sets: timestamp, sha, semver, latest.
	// +optional
	// +default="timestamp,sha,semver,latest"
	tags string,
	// Image media types: docker (default for ACR, which rejects some OCI artifacts) or oci.
	// +optional
	mediaTypes string,
	// Private key (PEM) that signs the pushed digest and its evidence: cosign's encrypted format (cosign generate-key-pair) or unencrypted PKCS#8, e.g. file://cosign.key or env://COSIGN_KEY.
	// +optional
	signKey *dagger.Secret,
	// Password of an encrypted --sign-key (cosign's COSIGN_PASSWORD).
	// +optional
	signPassword *dagger.Secret,
	// The CI run the gate statement names, e.g. $GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID.
	// +optional
	workflowRun string,
) (string, error) {
	host, err := registry.ParseHost(registryHost)
	if err != nil {
		return "", err
	}
	for _, w := range host.Warnings() {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if repository == "" {
		if repository, err = g.appName(ctx); err != nil {
			return "", err
		}
	}
	repo, err := registry.NewRepository(host, namespace, repository)
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
	_, plain, err := trimmedSecret(ctx, "goship-registry-password", password)
	if err != nil {
		return "", err
	}
	trust, err := g.trust(ctx)
	if err != nil {
		return "", err
	}
	opts := []registry.Option{registry.WithCredentials(registry.Credentials{Username: username, Password: plain}), registry.WithTrust(trust)}
	if err := registry.CheckCredentials(ctx, repo, opts...); err != nil {
		return "", err
	}
	key, err := loadSigningKey(ctx, signKey, signPassword)
	if err != nil {
		return "", err
	}

	variants, err := g.platformImages(ctx)
	if err != nil {
		return "", err
	}
	layout, cleanup, err := exportLayout(ctx, variants[0].AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants[1:], MediaTypes: types}))
	if err != nil {
		return "", err
	}
	defer cleanup()
	// The push runs here, in goship's own process, rather than through the
	// engine's Publish: only here do the registry CA and the plain-HTTP
	// opt-ins apply.
	digest, err := registry.PushLayout(ctx, layout, repo.String(), tagList, opts...)
	if err != nil {
		return "", err
	}
	ref, err := registry.Verify(ctx, repo.String(), digest, tagList, opts...)
	if err != nil || key == nil {
		return ref, err
	}
	signed, err := g.signRelease(ctx, ref, key, workflowRun, opts)
	if err != nil {
		return "", fmt.Errorf("pushed %s, but signing it failed: %w", ref, err)
	}
	fmt.Fprintln(os.Stderr, signed)
	return ref, nil
}

// exportLayout writes an image tarball into goship's own filesystem and
// unpacks it as an OCI layout directory.
func exportLayout(ctx context.Context, tarball *dagger.File) (string, func(), error) {
	path, cleanup, err := exportTemp(ctx, tarball, "image.tar")
	if err != nil {
		return "", nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	defer func() { _ = f.Close() }()
	layout := filepath.Join(filepath.Dir(path), "layout")
	if err := image.Untar(f, layout); err != nil {
		cleanup()
		return "", nil, err
	}
	return layout, cleanup, nil
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
	return "", fmt.Errorf("media types %q: want docker or oci", choice)
}
