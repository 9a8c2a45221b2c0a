package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/kube"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// Verify checks that an image is signed by the key whose public half is
// --key and carries a gate statement by that key that says passed, as
// deploy --verify-key does, and says who signed what: the key's
// fingerprint, the commit, the CI run, goship's version and the gate.
// It runs in goship's process against the registry; the registry CA and
// plain-HTTP opt-ins of the constructor apply.
// +cache="never"
func (g *Goship) Verify(
	ctx context.Context,
	// Image to check, repo@sha256:… (a tag is resolved once, and the digest it names is what is checked).
	image string,
	// Public key (PEM) of the signing key, e.g. the repository's .goship/cosign.pub.
	key *dagger.File,
	// Registry username, for a registry that needs one to read.
	// +optional
	username string,
	// Registry password.
	// +optional
	password *dagger.Secret,
	// Accept a signed image without goship's gate statement (e.g. signed by hand with cosign sign).
	// +optional
	allowMissingGate bool,
	// Accept a gate statement that says failed.
	// +optional
	allowFailedGate bool,
) (string, error) {
	plain, err := optionalSecret(ctx, "goship-verify-registry-password", password)
	if err != nil {
		return "", err
	}
	v, err := g.verifyImage(ctx, key, image, username, plain, sign.VerifyOptions{AllowMissingGate: allowMissingGate, AllowFailedGate: allowFailedGate})
	if err != nil {
		return "", err
	}
	return describeVerified(v), nil
}

// verifyImage checks image against the public key in keyFile, reading the
// registry with the constructor's trust and the given credentials.
// Failures of a check are *sign.VerifyError: which check, which digest.
func (g *Goship) verifyImage(ctx context.Context, keyFile *dagger.File, image, username, password string, opts sign.VerifyOptions) (*sign.Verified, error) {
	if keyFile == nil {
		return nil, fmt.Errorf("no public key to verify with: give --key (verify) or --verify-key (server, cluster), e.g. .goship/cosign.pub")
	}
	pub, err := keyFile.Contents(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the verify key: %w", err)
	}
	trust, err := g.trust(ctx)
	if err != nil {
		return nil, err
	}
	opts.Registry = append(opts.Registry, registry.WithTrust(trust))
	if password != "" {
		if username == "" {
			return nil, fmt.Errorf("a registry password without a username: give the username too")
		}
		opts.Registry = append(opts.Registry, registry.WithCredentials(registry.Credentials{Username: username, Password: password}))
	}
	return sign.Verify(ctx, image, []byte(pub), opts)
}

// describeVerified names the signer, the commit, the run, goship's
// version and the gate of a verified digest.
func describeVerified(v *sign.Verified) string {
	orNone := func(s string) string {
		if s == "" {
			return "(none recorded)"
		}
		return s
	}
	gate := "none (allowed by --allow-missing-gate)"
	if v.Gate != nil {
		gate = v.Gate.Summary()
	}
	lines := []string{
		"verified " + v.Reference,
		"signer key:     " + v.KeyFingerprint,
		"commit:         " + orNone(v.Commit),
		"workflow run:   " + orNone(v.WorkflowRun),
		"goship version: " + orNone(v.GoshipVersion),
		"gate:           " + gate,
		"attestations:   " + orNone(strings.Join(v.PredicateTypes, ", ")),
	}
	return strings.Join(lines, "\n")
}

// verifyHook is the check a rollback runs on its target's image, with
// the registry credentials given; nil (no check) without a key or when
// unsigned images are allowed.
func (g *Goship) verifyHook(keyFile *dagger.File, allowUnsigned bool, username, password string) func(context.Context, string) error {
	if keyFile == nil || allowUnsigned {
		return nil
	}
	return func(ctx context.Context, image string) error {
		_, err := g.verifyImage(ctx, keyFile, image, username, password, sign.VerifyOptions{})
		return err
	}
}

// optionalSecret is sec's plaintext without a trailing newline, "" for
// no secret.
func optionalSecret(ctx context.Context, name string, sec *dagger.Secret) (string, error) {
	if sec == nil {
		return "", nil
	}
	_, plain, err := trimmedSecret(ctx, name, sec)
	return plain, err
}

// verifyDeploy checks a server deploy's image before anything is
// exported or dialed, and pins the request to the verified digest (a tag
// could move between the check and the pull). An image sent over SSH was
// never pushed, so it has no signature to check: refused.
func (s *Server) verifyDeploy(ctx context.Context, req *fleet.Request) (string, error) {
	if s.VerifyKey == nil {
		return "", nil
	}
	if req.Transfer == "ssh" {
		return "", fmt.Errorf("--verify-key with --transfer=ssh: an image sent over SSH was never pushed, so it has no registry signature to check; publish it with --sign-key and deploy the reference with --transfer=registry")
	}
	v, err := s.Goship.verifyImage(ctx, s.VerifyKey, req.Spec.Image, req.RegistryUsername, req.RegistryPassword, sign.VerifyOptions{})
	if err != nil {
		return "", fmt.Errorf("deploy refused before any host was touched: %w", err)
	}
	req.Spec.Image = v.Reference
	return describeVerified(v), nil
}

// verifyDeploy checks a cluster deploy's image before the cluster is
// contacted, and pins the spec to the verified digest.
func (c *Cluster) verifyDeploy(ctx context.Context, spec *kube.Spec, username string, password *dagger.Secret) error {
	if c.VerifyKey == nil {
		return nil
	}
	pw, err := optionalSecret(ctx, "goship-verify-registry-password", password)
	if err != nil {
		return err
	}
	v, err := c.Goship.verifyImage(ctx, c.VerifyKey, spec.Image, username, pw, sign.VerifyOptions{})
	if err != nil {
		return fmt.Errorf("deploy refused before anything was applied: %w", err)
	}
	fmt.Fprintln(os.Stderr, describeVerified(v))
	spec.Image = v.Reference
	return nil
}
