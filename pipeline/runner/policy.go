package runner

import (
	"context"
	"errors"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/registry"
)

// errSigningPending: the signing and policy verbs are being moved onto
// sigstore-go (issue 28) and are wired here when they land.
var errSigningPending = errors.New("signing and policy verification are not wired into the runner yet")

// signer signs a pushed digest with its evidence.
type signer struct{ s job.Sign }

func loadSigner(s job.Sign) (*signer, error) { return nil, errSigningPending }

func (s *signer) sign(ctx context.Context, e *env, ref string, opts []registry.Option) (string, error) {
	return "", errSigningPending
}

// verifyRelease verifies every image of a planned release as the policy
// asks and pins them by digest; without a policy it checks nothing.
func verifyRelease(ctx context.Context, e *env, j job.Job, p Planned) (Guard, error) {
	if j.Policy == nil || j.Policy.File == "" {
		return Guard{Unverified: unverifiedReason(j)}, nil
	}
	return Guard{}, errSigningPending
}

// rollbackGuard is the guard of a rollback: the policy's check of the
// image it chooses.
func rollbackGuard(ctx context.Context, e *env, j job.Job) (Guard, error) {
	if j.Policy == nil || j.Policy.File == "" {
		return Guard{Unverified: unverifiedReason(j)}, nil
	}
	return Guard{}, errSigningPending
}

// verify checks an image against a key or the policy.
func verify(ctx context.Context, e *env, j job.Job) (job.Result, error) {
	return job.Result{}, errSigningPending
}

func unverifiedReason(j job.Job) string {
	if j.Policy == nil {
		return ""
	}
	return j.Policy.Unverified
}
