package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/release"
)

// Publish pushes the runtime image (every platform) to a registry, ACR
// first among them, and returns the verified immutable reference
// <repository>@sha256:…. The address and the credentials are checked
// before anything is built.
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
) (string, error) {
	host, err := registry.ParseHost(registryHost)
	if err != nil {
		return "", err
	}
	for _, w := range host.Warnings() {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if repository == "" {
		repository = g.App
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
	secret, plain, err := trimmedSecret(ctx, "goship-registry-password", password)
	if err != nil {
		return "", err
	}
	creds := registry.WithCredentials(registry.Credentials{Username: username, Password: plain})
	if err := registry.CheckCredentials(ctx, repo, creds); err != nil {
		return "", err
	}

	variants, err := g.platformImages(ctx)
	if err != nil {
		return "", err
	}
	pushed, err := variants[0].
		WithRegistryAuth(host.Name, username, secret).
		Publish(ctx, repo.String()+":"+tagList[0], dagger.ContainerPublishOpts{PlatformVariants: variants[1:], MediaTypes: types})
	if err != nil {
		return "", fmt.Errorf("push %s: %w", repo, err)
	}
	digest, err := digestOf(pushed)
	if err != nil {
		return "", err
	}
	// The other tags point at the same manifest: no second upload.
	for _, tag := range tagList[1:] {
		if err := registry.Tag(ctx, repo.String()+"@"+digest, tag, creds); err != nil {
			return "", err
		}
	}
	return registry.Verify(ctx, repo.String(), digest, tagList, creds)
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

// digestOf takes the digest from a ref@sha256:… string.
func digestOf(ref string) (string, error) {
	i := strings.LastIndex(ref, "@")
	if i < 0 {
		return "", fmt.Errorf("publish returned %q, which has no digest", ref)
	}
	return ref[i+1:], nil
}
