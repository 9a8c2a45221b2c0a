package sign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/goship-dev/goship/pipeline/registry"
)

// Cosign's names for what it stores next to an image.
const (
	sigSuffix = "sig"
	attSuffix = "att"
	// SignatureAnnotation holds the base64 signature of a .sig layer (empty
	// on .att layers, whose signature is inside the DSSE envelope).
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// PredicateTypeAnnotation names an .att layer's predicate type.
	PredicateTypeAnnotation = "predicateType"
	// SimpleSigningMediaType is a .sig layer's media type.
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// DSSEMediaType is an .att layer's media type.
	DSSEMediaType types.MediaType = "application/vnd.dsse.envelope.v1+json"
)

// maxEntry caps what is read of one stored layer: an SBOM of a large
// image is a few MB; more means something else is stored under the tag.
const maxEntry = 64 << 20

// entry is one signature or attestation: a layer's bytes and the
// annotations of its descriptor in the manifest.
type entry struct {
	payload     []byte
	mediaType   types.MediaType
	annotations map[string]string
}

// tagFor is cosign's tag for what is attached to d: sha256-<hex>.<suffix>
// in d's repository.
func tagFor(d name.Digest, suffix string) (name.Tag, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return name.Tag{}, fmt.Errorf("digest of %s: %w", d, err)
	}
	return d.Context().Tag(h.Algorithm + "-" + h.Hex + "." + suffix), nil
}

// readEntries reads the layers under tag. A missing tag is no entries.
func readEntries(ctx context.Context, s registry.Session, tag name.Tag) ([]entry, error) {
	img, err := remote.Image(tag, s.Remote(ctx)...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag, s.Redact(err))
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %s: %w", tag, s.Redact(err))
	}
	out := make([]entry, 0, len(m.Layers))
	for _, desc := range m.Layers {
		if desc.Size > maxEntry {
			return nil, fmt.Errorf("reading %s: layer %s is %d bytes, more than a signature or attestation can be", tag, desc.Digest, desc.Size)
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading layer %s of %s: %w", desc.Digest, tag, s.Redact(err))
		}
		b, err := readLayer(l)
		if err != nil {
			return nil, fmt.Errorf("reading layer %s of %s: %w", desc.Digest, tag, s.Redact(err))
		}
		out = append(out, entry{payload: b, mediaType: desc.MediaType, annotations: desc.Annotations})
	}
	return out, nil
}

func readLayer(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	return io.ReadAll(io.LimitReader(rc, maxEntry))
}

// writeEntries stores entries under tag as cosign does: an OCI manifest
// with an empty config and one layer per entry. Blobs already in the
// repository are not uploaded again.
func writeEntries(ctx context.Context, s registry.Session, tag name.Tag, entries []entry) error {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, e := range entries {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(e.payload, e.mediaType), Annotations: e.annotations})
		if err != nil {
			return fmt.Errorf("building %s: %w", tag, err)
		}
	}
	if err := remote.Write(tag, img, s.Remote(ctx)...); err != nil {
		return fmt.Errorf("pushing %s: %w", tag, s.Redact(err))
	}
	return nil
}

// isNotFound reports a registry's "no such manifest or repository".
func isNotFound(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	if terr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range terr.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}

// parseDigest parses ref, which must pin a digest: a tag can move between
// signing and deploying.
func parseDigest(s registry.Session, ref string) (name.Digest, error) {
	r, err := s.ParseReference(ref)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	d, ok := r.(name.Digest)
	if !ok {
		return name.Digest{}, fmt.Errorf("reference %q has no digest: give repo@sha256:… (publish prints it); a tag can move", ref)
	}
	return d, nil
}
