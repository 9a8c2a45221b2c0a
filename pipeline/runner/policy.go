package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/policy"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// repoPolicy is the repository's policy as this job reads it.
type repoPolicy struct {
	p    *policy.Policy
	mark PolicyMark
}

// loadPolicy reads the job's policy file, checked whole; nil when the
// repository has none.
func loadPolicy(j job.Job) (*repoPolicy, error) {
	if j.Policy == nil || j.Policy.File == "" {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(j.Policy.Repo, filepath.FromSlash(j.Policy.File)))
	if err != nil {
		return nil, fmt.Errorf("reading the policy %s: %w", j.Policy.File, err)
	}
	p, err := policy.Parse(j.Policy.File, data, os.DirFS(j.Policy.Repo))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &repoPolicy{p: p, mark: PolicyMark{Name: j.Policy.File, Digest: "sha256:" + hex.EncodeToString(sum[:])}}, nil
}

// registryFor gives each image's registry the pull credentials when they
// are for it (the deploy's registry), anonymous reads elsewhere.
func (e *env) registryFor(pull registry.Credentials, pullHost string) func(host string) []registry.Option {
	return func(host string) []registry.Option {
		if host == pullHost {
			return e.registryOptions(pull)
		}
		return e.registryOptions(registry.Credentials{})
	}
}

// verifyRelease checks every image a planned release runs against the
// repository's policy: each must be pinned by digest and signed as the
// policy requires, or allowed by it. It pins the plan to the verified
// digests and returns the guard the target records. Without a policy it
// checks nothing; the target still refuses if it remembers one.
func verifyRelease(ctx context.Context, e *env, j job.Job, p Planned) (Guard, error) {
	rp, err := loadPolicy(j)
	if err != nil {
		return Guard{}, err
	}
	if rp == nil {
		return Guard{Unverified: unverifiedReason(j)}, nil
	}
	pull, err := credentials(j.Deploy.Pull)
	if err != nil {
		return Guard{}, err
	}
	images := p.Images()
	rep, err := policy.Check(ctx, rp.p, images, policy.CheckOptions{RegistryFor: e.registryFor(pull, hostOf(j.Deploy.Image))})
	if err != nil {
		return Guard{}, err
	}
	if err := rep.Err(); err != nil {
		return Guard{}, err
	}
	pinned := map[string]string{}
	for _, im := range rep.Images {
		if im.Verified != nil {
			pinned[im.Image] = im.Verified.Reference
			e.logf("%s", describeVerified(im.Verified))
		} else {
			e.logf("allowed by %s: %s (%s)", rp.mark.Name, im.Image, im.Reason)
		}
	}
	if err := p.Pin(pinned); err != nil {
		return Guard{}, err
	}
	return Guard{Policy: &rp.mark, Unverified: unverifiedReason(j)}, nil
}

// rollbackGuard is a rollback's guard: the policy's check of the release
// it chooses, before anything changes.
func rollbackGuard(ctx context.Context, e *env, j job.Job) (Guard, error) {
	rp, err := loadPolicy(j)
	if err != nil {
		return Guard{}, err
	}
	if rp == nil {
		return Guard{Unverified: unverifiedReason(j)}, nil
	}
	pull, err := credentials(j.Rollback.Pull)
	if err != nil {
		return Guard{}, err
	}
	verify := func(ctx context.Context, image string) error {
		rep, err := policy.Check(ctx, rp.p, []string{image}, policy.CheckOptions{RegistryFor: e.registryFor(pull, hostOf(image))})
		if err != nil {
			return err
		}
		return rep.Err()
	}
	return Guard{Policy: &rp.mark, Unverified: unverifiedReason(j), Verify: verify}, nil
}

func unverifiedReason(j job.Job) string {
	if j.Policy == nil {
		return ""
	}
	return j.Policy.Unverified
}

// hostOf is the registry host an image reference names ("" when it does
// not parse: the check names that image).
func hostOf(image string) string {
	if ref, err := name.ParseReference(image); err == nil {
		return ref.Context().RegistryStr()
	}
	return ""
}

// verify checks an image against --key (signature and a passing
// provenance) or the repository's policy.
func verify(ctx context.Context, e *env, j job.Job) (job.Result, error) {
	v := j.Verify
	if v == nil {
		return job.Result{}, errors.New("a verify job without its settings")
	}
	pull, err := credentials(v.Pull)
	if err != nil {
		return job.Result{}, err
	}
	var opts sign.VerifyOptions
	switch {
	case v.Key != "":
		pem, err := os.ReadFile(v.Key)
		if err != nil {
			return job.Result{}, fmt.Errorf("reading --key: %w", err)
		}
		key, err := sign.ParsePublicKey(pem)
		if err != nil {
			return job.Result{}, fmt.Errorf("--key: %w", err)
		}
		// The key replaces the policy's keys; what is required, and how
		// old a gate may be, stay the policy's (or its defaults).
		opts = sign.VerifyOptions{Keys: []*sign.PublicKey{key}, Require: []string{sign.ProvenancePredicateType}, MaxAge: policy.DefaultMaxAge}
		rp, err := loadPolicy(j)
		if err != nil {
			return job.Result{}, err
		}
		if rp != nil {
			opts.Require, opts.MaxAge = rp.p.Require, rp.p.MaxAge
		}
	default:
		rp, err := loadPolicy(j)
		if err != nil {
			return job.Result{}, err
		}
		if rp == nil {
			return job.Result{}, errors.New("nothing to verify with: give --key or declare keys in the repository's policy")
		}
		opts = rp.p.VerifyOptions()
	}
	opts.Registry = e.registryOptions(pull)
	verified, err := sign.Verify(ctx, v.Image, opts)
	if err != nil {
		return job.Result{}, err
	}
	return job.Result{Output: describeVerified(verified), Reference: verified.Reference}, nil
}

// describeVerified names who signed what, and how ci went.
func describeVerified(v *sign.Verified) string {
	lines := []string{
		"verified " + v.Reference,
		"signer key:     " + v.KeyFingerprint,
		"attestations:   " + orNone(strings.Join(v.PredicateTypes, ", ")),
	}
	if p := v.Provenance; p != nil {
		var steps []string
		for _, s := range p.Steps {
			st := string(s.Step)
			if s.Platform != "" {
				st += " " + s.Platform
			}
			if s.Passed {
				st += " passed"
			} else {
				st += " FAILED"
			}
			steps = append(steps, st)
		}
		lines = append(lines,
			"commit:         "+orNone(p.Commit)+" ("+orNone(p.Ref)+")",
			"ci run:         "+orNone(p.InvocationID)+", finished "+p.FinishedOn.UTC().Format("2006-01-02T15:04:05Z"),
			"goship, go:     "+orNone(p.GoshipVersion)+", "+orNone(p.GoVersion),
			"ci steps:       "+orNone(strings.Join(steps, "; ")))
	}
	return strings.Join(lines, "\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none recorded)"
	}
	return s
}

// clusterImagePolicy exports the repository's policy as sigstore
// policy-controller ClusterImagePolicy objects.
func clusterImagePolicy(j job.Job) (job.Result, error) {
	rp, err := loadPolicy(j)
	if err != nil {
		return job.Result{}, err
	}
	if rp == nil {
		return job.Result{}, fmt.Errorf("the repository has no policy (%s): nothing to export", project.DefaultPolicyFile)
	}
	cips, err := rp.p.ClusterImagePolicies("goship-" + j.Run.App)
	if err != nil {
		return job.Result{}, err
	}
	data, err := policy.YAML(cips)
	if err != nil {
		return job.Result{}, err
	}
	return job.Result{Output: string(data)}, nil
}
