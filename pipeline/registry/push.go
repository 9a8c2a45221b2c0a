package registry

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushLayout pushes the image in an OCI layout directory (one image, or
// one image per platform) to repo under every tag and returns its
// digest. The first tag uploads the blobs; the others only put the
// manifest again. The push runs from the caller's process, so it honours
// the caller's Trust (private CAs, plain-HTTP opt-ins), which an engine's
// own push would not.
func PushLayout(ctx context.Context, dir, repo string, tags []string, opts ...Option) (string, error) {
	if len(tags) == 0 {
		return "", fmt.Errorf("push %s: no tags", repo)
	}
	for _, t := range tags {
		if err := ValidateTag(t); err != nil {
			return "", err
		}
	}
	o := collect(opts)
	r, err := o.parseRepo(repo)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", repo, err)
	}
	target, err := layoutTarget(dir)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", repo, err)
	}
	first := r.Tag(tags[0])
	switch t := target.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(first, t, o.remote(ctx)...)
	case v1.Image:
		err = remote.Write(first, t, o.remote(ctx)...)
	}
	if err != nil {
		return "", fmt.Errorf("push %s: %s", first, o.scrub(err.Error()))
	}
	for _, tag := range tags[1:] {
		if err := remote.Tag(r.Tag(tag), target, o.remote(ctx)...); err != nil {
			return "", fmt.Errorf("tag %s: %s", r.Tag(tag), o.scrub(err.Error()))
		}
	}
	digest, err := target.Digest()
	if err != nil {
		return "", err
	}
	return digest.String(), nil
}

// pushable is an image or an index.
type pushable interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// layoutTarget is what an OCI layout holds: its one image or index, or,
// when index.json lists one image per platform, an index of them with the
// media type their manifests call for.
func layoutTarget(dir string) (pushable, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	switch {
	case len(im.Manifests) == 0:
		return nil, fmt.Errorf("OCI layout %s holds no image", dir)
	case len(im.Manifests) == 1 && im.Manifests[0].MediaType.IsIndex():
		return idx.ImageIndex(im.Manifests[0].Digest)
	case len(im.Manifests) == 1:
		return idx.Image(im.Manifests[0].Digest)
	}
	mt := types.OCIImageIndex
	if im.Manifests[0].MediaType == types.DockerManifestSchema2 {
		mt = types.DockerManifestList
	}
	return mutate.IndexMediaType(idx, mt), nil
}
