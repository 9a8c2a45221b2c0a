package registry

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RequiredLabels are the OCI labels every published image must carry, so
// that a running container can be traced back to its commit. The source
// label is not among them: a project without a known remote has none, and
// a made-up one would mislead.
func RequiredLabels() []string {
	return []string{
		"org.opencontainers.image.revision",
		"org.opencontainers.image.version",
		"org.opencontainers.image.created",
	}
}

// Verify checks a push: every tag of repo resolves to digest, and the image
// (each platform of an index) carries RequiredLabels. It returns the
// immutable reference repo@digest that deploys should use.
func Verify(ctx context.Context, repo string, digest string, tags []string, opts ...Option) (string, error) {
	o := collect(opts)
	r, err := o.parseRepo(repo)
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", repo, err)
	}
	want, err := v1.NewHash(digest)
	if err != nil {
		return "", fmt.Errorf("verify %s: digest %q: %w", repo, digest, err)
	}
	for _, tag := range tags {
		desc, err := remote.Head(r.Tag(tag), o.remote(ctx)...)
		if err != nil {
			return "", fmt.Errorf("verify %s:%s: %s", repo, tag, o.scrub(err.Error()))
		}
		if desc.Digest != want {
			return "", fmt.Errorf("verify %s:%s: tag points at %s, not the pushed %s (another push raced this one?)", repo, tag, desc.Digest, want)
		}
	}
	ref := r.Digest(want.String())
	desc, err := remote.Get(ref, o.remote(ctx)...)
	if err != nil {
		return "", fmt.Errorf("verify %s: %s", ref, o.scrub(err.Error()))
	}
	images, err := platformImages(desc)
	if err != nil {
		return "", fmt.Errorf("verify %s: %w", ref, err)
	}
	for _, img := range images {
		if err := checkImage(img); err != nil {
			return "", fmt.Errorf("verify %s: %w", ref, err)
		}
	}
	return ref.String(), nil
}

func platformImages(desc *remote.Descriptor) ([]v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, err
		}
		return []v1.Image{img}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []v1.Image
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func checkImage(img v1.Image) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	if m.Config.MediaType == types.MediaType("application/vnd.oci.empty.v1+json") {
		return fmt.Errorf("manifest has an empty OCI config (an attestation?): ACR rejects these")
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	var missing []string
	for _, l := range RequiredLabels() {
		if cf.Config.Labels[l] == "" {
			missing = append(missing, l)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("image config lacks labels %s", strings.Join(missing, ", "))
	}
	return nil
}
