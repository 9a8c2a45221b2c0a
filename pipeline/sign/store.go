package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

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

// Scheme is where signatures and attestations are stored beside an image.
type Scheme string

// The storage schemes, newest first.
const (
	// SchemeReferrers: each bundle is an OCI 1.1 referrer manifest
	// (artifactType BundleMediaType, subject the image), listed by the
	// registry's referrers API (GET /v2/<repo>/referrers/<digest>).
	SchemeReferrers Scheme = "referrers"
	// SchemeReferrersTag: the same referrer manifests, listed in an index
	// under the tag sha256-<hex> (the OCI referrers tag scheme), for
	// registries without the API.
	SchemeReferrersTag Scheme = "referrers-tag"
	// SchemeLegacy: cosign v2's tags sha256-<hex>.sig (simple-signing
	// payloads) and sha256-<hex>.att (DSSE envelopes), for registries that
	// refuse OCI 1.1 artifact manifests (ACR Personal Edition).
	SchemeLegacy Scheme = "cosign-legacy"
)

// Names of cosign's storage.
const (
	// SignatureAnnotation holds the base64 signature of a .sig layer.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	// PredicateTypeAnnotation names an .att layer's predicate type.
	PredicateTypeAnnotation = "predicateType"
	// BundlePredicateTypeAnnotation names a referrer bundle's predicate
	// type, as cosign v3 writes it.
	BundlePredicateTypeAnnotation = "dev.sigstore.bundle.predicateType"
	// BundleContentAnnotation says what a referrer bundle holds.
	BundleContentAnnotation = "dev.sigstore.bundle.content"

	simpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	dsseMediaType          types.MediaType = "application/vnd.dsse.envelope.v1+json"
	emptyConfigMediaType   types.MediaType = "application/vnd.oci.empty.v1+json"
)

// maxEntry caps what is read of one stored blob: an SBOM of a large image
// is a few MB; more means something else is stored there.
const maxEntry = 64 << 20

// maxReferrers caps how many referrers of one digest are read.
const maxReferrers = 512

// legacyTag is cosign v2's tag for what is attached to d:
// sha256-<hex>.<suffix>.
func legacyTag(d name.Digest, suffix string) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + "." + suffix)
}

// referrersTag is the OCI referrers tag scheme's tag for d: sha256-<hex>.
func referrersTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1))
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

// refusesArtifacts reports a registry's refusal of an OCI 1.1 artifact
// manifest, by its error code: ACR Personal Edition answers DENIED
// ("unknown manifest class"); other registries MANIFEST_INVALID or
// UNSUPPORTED. It is only read on the manifest PUT that follows the
// blob uploads the same credentials just made, so it does not mean "no
// push permission".
func refusesArtifacts(err error) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		switch d.Code {
		case transport.DeniedErrorCode, transport.ManifestInvalidErrorCode, transport.UnsupportedErrorCode:
			return true
		}
	}
	return false
}

// errArtifactsRefused is the registry refusing referrer manifests.
type errArtifactsRefused struct{ err error }

func (e *errArtifactsRefused) Error() string { return e.err.Error() }

// readBlob reads a layer, bounded.
func readBlob(l v1.Layer) ([]byte, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(io.LimitReader(rc, maxEntry+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxEntry {
		return nil, fmt.Errorf("more than %d bytes: not a signature or an attestation", maxEntry)
	}
	return b, nil
}

// store is one registry session on one digest.
type store struct {
	s registry.Session
	d name.Digest
}

func (st store) remote(ctx context.Context) []remote.Option { return st.s.Remote(ctx) }

// referrers lists d's referrers: through the API where the registry has
// it, else from the referrers tag. A missing tag is no referrers.
func (st store) referrers(ctx context.Context) (Scheme, []v1.Descriptor, error) {
	idx, err := remote.Referrers(st.d, append(st.remote(ctx), remote.WithReferrersTagFallback(false))...)
	scheme := SchemeReferrers
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) {
			return "", nil, fmt.Errorf("listing the referrers of %s: %w", st.d, st.s.Redact(err))
		}
		// No referrers API (go-containerregistry's own refusal to fall
		// back, not a registry error): read the tag.
		scheme = SchemeReferrersTag
		idx, err = remote.Index(referrersTag(st.d), st.remote(ctx)...)
		if isNotFound(err) {
			return scheme, nil, nil
		}
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", referrersTag(st.d), st.s.Redact(err))
		}
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", nil, fmt.Errorf("reading the referrers of %s: %w", st.d, st.s.Redact(err))
	}
	return scheme, m.Manifests, nil
}

// bundles reads the Sigstore bundles among d's referrers. A referrer that
// is not a readable bundle is skipped: other tools attach other things.
func (st store) bundles(ctx context.Context) ([]candidate, error) {
	scheme, descs, err := st.referrers(ctx)
	if err != nil {
		return nil, err
	}
	if len(descs) > maxReferrers {
		return nil, fmt.Errorf("%s has %d referrers, more than goship reads (%d): prune old signatures", st.d, len(descs), maxReferrers)
	}
	var out []candidate
	for _, desc := range descs {
		// Registries list a referrer's artifactType, or its config's media
		// type (go-containerregistry's own registry does): skip only what
		// is clearly something else; the layer's media type decides.
		if at := desc.ArtifactType; at != "" && at != string(emptyConfigMediaType) && !strings.HasPrefix(at, "application/vnd.dev.sigstore.bundle") {
			continue
		}
		ref := st.d.Context().Digest(desc.Digest.String())
		img, err := remote.Image(ref, st.remote(ctx)...)
		if isNotFound(err) {
			continue // listed in a stale referrers tag
		}
		if err != nil {
			return nil, fmt.Errorf("reading referrer %s: %w", ref, st.s.Redact(err))
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			continue
		}
		if mt, err := layers[0].MediaType(); err != nil || !strings.HasPrefix(string(mt), "application/vnd.dev.sigstore.bundle") {
			continue
		}
		raw, err := readBlob(layers[0])
		if err != nil {
			return nil, fmt.Errorf("reading the bundle of referrer %s: %w", ref, st.s.Redact(err))
		}
		c, err := fromBundle(scheme, desc.Digest.String(), raw)
		if err != nil {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// legacyEntry is one layer of a cosign v2 .sig or .att image.
type legacyEntry struct {
	data        []byte
	mediaType   types.MediaType
	annotations map[string]string
}

// readLegacy reads the layers under tag; a missing tag is none.
func (st store) readLegacy(ctx context.Context, tag name.Tag) ([]legacyEntry, error) {
	img, err := remote.Image(tag, st.remote(ctx)...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", tag, st.s.Redact(err))
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest of %s: %w", tag, st.s.Redact(err))
	}
	if len(m.Layers) > maxReferrers {
		return nil, fmt.Errorf("%s has %d layers, more than goship reads (%d)", tag, len(m.Layers), maxReferrers)
	}
	out := make([]legacyEntry, 0, len(m.Layers))
	for _, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading layer %s of %s: %w", desc.Digest, tag, st.s.Redact(err))
		}
		b, err := readBlob(l)
		if err != nil {
			return nil, fmt.Errorf("reading layer %s of %s: %w", desc.Digest, tag, st.s.Redact(err))
		}
		out = append(out, legacyEntry{data: b, mediaType: desc.MediaType, annotations: desc.Annotations})
	}
	return out, nil
}

// legacy reads cosign v2's .sig and .att tags as candidates.
func (st store) legacy(ctx context.Context) ([]candidate, error) {
	var out []candidate
	sigTag := legacyTag(st.d, "sig")
	sigs, err := st.readLegacy(ctx, sigTag)
	if err != nil {
		return nil, err
	}
	for _, e := range sigs {
		sig, err := base64.StdEncoding.DecodeString(e.annotations[SignatureAnnotation])
		if err != nil || len(sig) == 0 {
			continue
		}
		if c, err := fromLegacySig(sigTag.String(), e.data, sig); err == nil {
			out = append(out, c)
		}
	}
	attTag := legacyTag(st.d, "att")
	atts, err := st.readLegacy(ctx, attTag)
	if err != nil {
		return nil, err
	}
	for _, e := range atts {
		if c, err := fromLegacyAtt(attTag.String(), e.data); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// writeLegacy appends entries to the image under tag, as cosign v2 does:
// an OCI manifest with an empty config and one layer per entry.
func (st store) writeLegacy(ctx context.Context, tag name.Tag, add []legacyEntry) error {
	existing, err := st.readLegacy(ctx, tag)
	if err != nil {
		return err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, e := range append(existing, add...) {
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(e.data, e.mediaType), Annotations: e.annotations})
		if err != nil {
			return fmt.Errorf("building %s: %w", tag, err)
		}
	}
	if err := remote.Write(tag, img, st.remote(ctx)...); err != nil {
		return fmt.Errorf("pushing %s: %w", tag, st.s.Redact(err))
	}
	return nil
}

// writeReferrer stores a bundle as a referrer of d, as cosign v3 does: an
// OCI image manifest with an empty config, the bundle as its one layer,
// d as its subject. go-containerregistry adds it to the referrers tag
// where the registry has no referrers API. It returns the manifest's
// digest; a refusal of the manifest class is *errArtifactsRefused.
func (st store) writeReferrer(ctx context.Context, subject v1.Descriptor, bundleJSON []byte, predicateType string, created time.Time) (v1.Hash, error) {
	repo := st.d.Context()
	layer := static.NewLayer(bundleJSON, BundleMediaType)
	config := static.NewLayer([]byte("{}"), emptyConfigMediaType)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, st.remote(ctx)...); err != nil {
			return v1.Hash{}, fmt.Errorf("uploading a blob to %s: %w", repo, st.s.Redact(err))
		}
	}
	desc := func(l v1.Layer) (v1.Descriptor, error) {
		d, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		n, err := l.Size()
		if err != nil {
			return v1.Descriptor{}, err
		}
		mt, err := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: n}, err
	}
	cd, err := desc(config)
	if err != nil {
		return v1.Hash{}, err
	}
	ld, err := desc(layer)
	if err != nil {
		return v1.Hash{}, err
	}
	cd.ArtifactType = BundleMediaType
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Config:        cd,
		Layers:        []v1.Descriptor{ld},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations: map[string]string{
			"org.opencontainers.image.created": created.UTC().Format(time.RFC3339),
			BundleContentAnnotation:            "dsse-envelope",
			BundlePredicateTypeAnnotation:      predicateType,
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Put(repo.Digest(h.String()), rawManifest{raw: raw, mt: types.OCIManifestSchema1}, st.remote(ctx)...); err != nil {
		if refusesArtifacts(err) {
			return v1.Hash{}, &errArtifactsRefused{err: st.s.Redact(err)}
		}
		return v1.Hash{}, fmt.Errorf("pushing referrer %s of %s: %w", h, st.d, st.s.Redact(err))
	}
	return h, nil
}

// rawManifest is a manifest to PUT as it is.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// platforms are the platforms of the image at d: each image manifest of
// an index (attestation manifests, unknown/unknown, left out), or the
// image itself.
func (st store) platforms(ctx context.Context) (v1.Descriptor, []platform, error) {
	desc, err := remote.Get(st.d, st.remote(ctx)...)
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("%s is not in the registry (push it first): %w", st.d, st.s.Redact(err))
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("reading %s: %w", st.d, st.s.Redact(err))
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("reading the config of %s: %w", st.d, st.s.Redact(err))
		}
		p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
		return desc.Descriptor, []platform{{name: p.String(), digest: desc.Digest}}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading %s: %w", st.d, st.s.Redact(err))
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, nil, fmt.Errorf("reading %s: %w", st.d, st.s.Redact(err))
	}
	var out []platform
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() || d.Platform == nil || d.Platform.OS == "unknown" {
			continue
		}
		out = append(out, platform{name: d.Platform.String(), digest: d.Digest})
	}
	if len(out) == 0 {
		return v1.Descriptor{}, nil, fmt.Errorf("%s is an index with no platform images", st.d)
	}
	return desc.Descriptor, out, nil
}
