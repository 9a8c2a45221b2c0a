package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// Verdict is the policy's decision on one image.
type Verdict string

// Verdicts. Only Signed and Allowed let an image run.
const (
	// Signed: pinned by digest, and verified with the policy's keys,
	// requirements and maximum age.
	Signed Verdict = "signed"
	// Allowed: pinned by a digest the policy allows.
	Allowed Verdict = "allowed"
	// Unpinned: named by tag, which can move: refused.
	Unpinned Verdict = "unpinned"
	// Refused: the verification refused it (Err is a *sign.VerifyError).
	Refused Verdict = "refused"
	// Unchecked: the registry could not be read, so nothing was proven:
	// refused.
	Unchecked Verdict = "unchecked"
	// Invalid: not an image reference.
	Invalid Verdict = "invalid"
)

// Image is the decision on one image reference.
type Image struct {
	// Image is the reference as given.
	Image   string
	Verdict Verdict
	// Reason is the allow entry's reason (Allowed).
	Reason string
	// Verified is the verification (Signed).
	Verified *sign.Verified
	// Err says why it may not run (every verdict but Signed and Allowed).
	Err error
}

// OK reports whether the image may run.
func (i Image) OK() bool { return i.Verdict == Signed || i.Verdict == Allowed }

// Report is Check's decision on each image, in the order given.
type Report struct {
	Images []Image
}

// Err is nil if every image may run, else a *RefusedError naming each that
// may not.
func (r *Report) Err() error {
	var bad []Image
	for _, i := range r.Images {
		if !i.OK() {
			bad = append(bad, i)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &RefusedError{Images: bad}
}

// RefusedError lists the images a policy refuses.
type RefusedError struct {
	Images []Image
}

func (e *RefusedError) Error() string {
	var lines []string
	for _, i := range e.Images {
		lines = append(lines, fmt.Sprintf("%s (%s): %v", i.Image, i.Verdict, i.Err))
	}
	return fmt.Sprintf("the image policy refuses %d image(s), nothing was changed:\n  %s", len(e.Images), strings.Join(lines, "\n  "))
}

// CheckOptions configure Check.
type CheckOptions struct {
	// Registry access for the verifications: credentials, CAs, plain
	// HTTP.
	Registry []registry.Option
	// RegistryFor, if set, gives the options for an image's registry host
	// (e.g. one set of credentials per registry) instead of Registry.
	RegistryFor func(host string) []registry.Option
	// Now is the time the maximum age counts back from; zero: time.Now.
	Now time.Time
}

// Check decides, for each image reference, whether p lets it run: it must
// be pinned by digest, and either allowed by the policy or signed and
// attested as p requires. Allowed images are not looked up. The error is
// nil unless ctx ends; the decisions are in the report (see Report.Err).
func Check(ctx context.Context, p *Policy, images []string, opts CheckOptions) (*Report, error) {
	out := &Report{}
	for _, img := range images {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out.Images = append(out.Images, checkOne(ctx, p, img, opts))
	}
	return out, nil
}

func checkOne(ctx context.Context, p *Policy, img string, opts CheckOptions) Image {
	r := Image{Image: img}
	ref, err := name.ParseReference(img)
	if err != nil {
		r.Verdict, r.Err = Invalid, fmt.Errorf("not an image reference: %w", err)
		return r
	}
	d, ok := ref.(name.Digest)
	if !ok {
		r.Verdict = Unpinned
		r.Err = fmt.Errorf("named by tag, which can move: pin it by digest (repo@sha256:…), and sign it or allow that digest in %s", project.DefaultPolicyFile)
		return r
	}
	if a, ok := p.allowed(d); ok {
		r.Verdict, r.Reason = Allowed, a.Reason
		return r
	}
	vo := p.VerifyOptions()
	vo.Registry, vo.Now = opts.Registry, opts.Now
	if opts.RegistryFor != nil {
		vo.Registry = opts.RegistryFor(d.Context().RegistryStr())
	}
	v, err := sign.Verify(ctx, d.String(), vo)
	var ve *sign.VerifyError
	switch {
	case err == nil:
		r.Verdict, r.Verified = Signed, v
	case errors.As(err, &ve) && (ve.Kind == sign.KindNoSignature || ve.Kind == sign.KindWrongKey):
		r.Verdict, r.Err = Refused, fmt.Errorf("%w; if it is a third-party image, allow this digest in %s", err, project.DefaultPolicyFile)
	case errors.As(err, &ve):
		r.Verdict, r.Err = Refused, err
	default:
		r.Verdict, r.Err = Unchecked, fmt.Errorf("could not be verified, so it is refused: %w", err)
	}
	return r
}
