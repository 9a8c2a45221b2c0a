package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// goshipVersion is what gate statements name as the goship that ran; the
// module has no release version of its own yet.
const goshipVersion = "dev"

// loadSigningKey reads publish's --sign-key and --sign-password, before
// anything is built, so a wrong password stops the run at once. The
// key's bytes stay in this process; errors never carry them.
func loadSigningKey(ctx context.Context, key, password *dagger.Secret) (*sign.Key, error) {
	if key == nil {
		if password != nil {
			return nil, fmt.Errorf("--sign-password without --sign-key: give the private key too, e.g. --sign-key=file://cosign.key")
		}
		return nil, nil
	}
	pemData, err := key.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading --sign-key: %w", err)
	}
	var pw []byte
	if password != nil {
		_, plain, err := trimmedSecret(ctx, "goship-sign-password", password)
		if err != nil {
			return nil, fmt.Errorf("reading --sign-password: %w", err)
		}
		pw = []byte(plain)
	}
	k, err := sign.LoadKey([]byte(pemData), pw)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	return k, nil
}

// signRelease signs the pushed digest ref and attests, by the same key,
// the CycloneDX SBOM and the Trivy report of goship's scan of that image
// and the gate statement with the scan's verdict. The scan is the one ci
// and scan run (a cache hit after them). A failed gate is signed as
// failed: deploy --verify-key refuses it. It returns what it did, for the
// log.
func (g *Goship) signRelease(ctx context.Context, ref string, key *sign.Key, workflowRun string, opts []registry.Option) (string, error) {
	policy := g.scanPolicy("", "", false, nil, nil)
	started := time.Now()
	reports, verdict, _, err := g.scanRun(ctx, policy, true)
	if err != nil {
		return "", fmt.Errorf("signing %s: the scan for its evidence: %w", ref, err)
	}
	finished := time.Now()
	sbom, err := reports.File("sbom.cdx.json").Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("signing %s: reading the SBOM: %w", ref, err)
	}
	report, err := reports.File("trivy.json").Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("signing %s: reading the Trivy report: %w", ref, err)
	}
	gate := sign.NewGate(sign.Run{Commit: g.Sha, WorkflowRun: workflowRun, GoshipVersion: goshipVersion}, verdict, policy, finished)
	var preds []sign.Predicate
	for _, p := range []func() (sign.Predicate, error){
		func() (sign.Predicate, error) { return sign.SBOMPredicate([]byte(sbom)) },
		func() (sign.Predicate, error) {
			return sign.VulnPredicate(sign.VulnScan{Report: []byte(report), ScannerVersion: imageTag(g.TrivyImage),
				DBVersion: g.scanDay(), WorkflowRun: workflowRun, StartedOn: started, FinishedOn: finished})
		},
		func() (sign.Predicate, error) { return sign.GatePredicate(gate) },
	} {
		pred, err := p()
		if err != nil {
			return "", fmt.Errorf("signing %s: %w", ref, err)
		}
		preds = append(preds, pred)
	}
	sig, err := sign.Sign(ctx, ref, key, nil, opts...)
	if err != nil {
		return "", err
	}
	att, err := sign.Attest(ctx, ref, key, preds, opts...)
	if err != nil {
		return "", err
	}
	lines := []string{
		fmt.Sprintf("signed %s with key %s (%s)", ref, key.Fingerprint(), sig.Tag),
		fmt.Sprintf("attested %s (%s)", strings.Join(att.PredicateTypes, ", "), att.Tag),
		"gate " + gate.Summary(),
	}
	if gate.Outcome != sign.GatePassed {
		lines = append(lines, "the gate FAILED and is signed as failed: deploy --verify-key refuses this digest")
	}
	return strings.Join(lines, "\n"), nil
}

// imageTag is ref's tag (e.g. 0.69.3 of aquasec/trivy:0.69.3@sha256:…),
// else the reference as given.
func imageTag(ref string) string {
	repoTag, _, _ := strings.Cut(ref, "@")
	if t, err := name.NewTag(repoTag); err == nil && t.TagStr() != "" {
		return t.TagStr()
	}
	return ref
}
