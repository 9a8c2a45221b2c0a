package sign

import (
	"context"
	"errors"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/goship-dev/goship/pipeline/registry"
)

// SignWithoutGate signs as Sign does but skips the gate, so a test can
// store what only a key holder could: a provenance that says a step
// failed.
func SignWithoutGate(ctx context.Context, ref string, key *Key, ev Evidence, opts Options) (*Signed, error) {
	s := registry.NewSession(opts.Registry...)
	d, err := parseDigest(s, ref)
	if err != nil {
		return nil, err
	}
	st := store{s: s, d: d}
	desc, platforms, err := st.platforms(ctx)
	if err != nil {
		return nil, err
	}
	var scans []Scan
	for _, p := range platforms {
		for _, sc := range ev.Scans {
			if sc.Platform == p.name {
				scans = append(scans, sc)
			}
		}
	}
	if len(scans) != len(platforms) {
		return nil, errors.New("give a scan per platform")
	}
	return write(ctx, st, desc, platforms, scans, key, ev, opts)
}

// ProvenanceJSON is the provenance predicate Sign would attest for ev
// about an image of platforms (os/arch to digest), for cosign attest.
func ProvenanceJSON(ev Evidence, platforms map[string]string) ([]byte, error) {
	var ps []platform
	for n, d := range platforms {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, err
		}
		ps = append(ps, platform{name: n, digest: h})
	}
	s, err := provenance(ev.Run, ev.Steps, ps)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(s)
}
