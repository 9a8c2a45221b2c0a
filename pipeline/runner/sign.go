package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// signer signs a pushed digest with what ci found.
type signer struct {
	key *sign.Key
	s   job.Sign
}

// loadSigner reads the key and its password before anything is built or
// pushed, so a wrong password stops the run at once. The key's bytes stay
// in this process; errors never carry them.
func loadSigner(s job.Sign) (*signer, error) {
	if s.Key == "" {
		return nil, fmt.Errorf("--sign-password without --sign-key: give the private key too, e.g. --sign-key=file://cosign.key")
	}
	pem, err := secretBytes(s.Key)
	if err != nil {
		return nil, fmt.Errorf("reading --sign-key: %w", err)
	}
	pw, err := secretText(s.Password)
	if err != nil {
		return nil, fmt.Errorf("reading --sign-password: %w", err)
	}
	key, err := sign.LoadKey(pem, []byte(pw))
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	return &signer{key: key, s: s}, nil
}

// sign signs ref (every platform of it) once the evidence shows ci
// passed for it, and says what it wrote.
func (s *signer) sign(ctx context.Context, e *env, ref string, opts []registry.Option) (string, error) {
	ev, err := s.evidence(ctx, e, ref, opts)
	if err != nil {
		return "", err
	}
	signed, err := sign.Sign(ctx, ref, s.key, ev, sign.Options{Registry: opts})
	if err != nil {
		return "", err
	}
	lines := []string{fmt.Sprintf("signed %s with key %s (%s)", signed.Reference, signed.KeyFingerprint, signed.Scheme),
		"attested " + strings.Join(signed.PredicateTypes, ", ")}
	if signed.Refused != "" {
		lines = append(lines, "the registry refused OCI 1.1 artifacts ("+signed.Refused+"): stored as cosign v2 tags instead")
	}
	return strings.Join(lines, "\n"), nil
}

// evidence reads what the module's ci run found (job.Evidence and the
// files beside it) as signing takes it, with each platform's manifest
// digest as the registry holds it.
func (s *signer) evidence(ctx context.Context, e *env, ref string, opts []registry.Option) (sign.Evidence, error) {
	dir := s.s.Evidence
	var ev job.Evidence
	data, err := os.ReadFile(filepath.Join(dir, job.EvidenceFile))
	if err != nil {
		return sign.Evidence{}, fmt.Errorf("signing %s: ci's evidence: %w", ref, err)
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return sign.Evidence{}, fmt.Errorf("signing %s: ci's evidence: %w", ref, err)
	}
	started, _ := time.Parse(time.RFC3339, ev.StartedOn)
	finished, _ := time.Parse(time.RFC3339, ev.FinishedOn)
	run := sign.Run{Repository: ev.SourceURL, Commit: e.run.Commit, Ref: e.run.Ref, GoshipVersion: e.run.Goship,
		InvocationID: s.s.WorkflowRun, GoVersion: ev.GoVersion, StartedOn: started, FinishedOn: finished}
	for role, img := range ev.Images {
		run.Images = append(run.Images, sign.Image{Role: role, Ref: img})
	}
	if ev.GoSum != "" {
		sum, err := os.ReadFile(filepath.Join(dir, ev.GoSum))
		if err != nil {
			return sign.Evidence{}, fmt.Errorf("signing %s: go.sum: %w", ref, err)
		}
		if run.Modules, err = sign.ParseGoSum(sum); err != nil {
			return sign.Evidence{}, err
		}
	}
	digests, err := registry.PlatformDigests(ctx, ref, opts...)
	if err != nil {
		return sign.Evidence{}, err
	}
	out := sign.Evidence{Run: run}
	for _, st := range ev.Steps {
		switch st.Name {
		case "lint":
			out.Steps = append(out.Steps, sign.StepResult{Step: sign.StepLint, Passed: st.Passed, Summary: st.Detail})
		case "test":
			out.Steps = append(out.Steps, sign.StepResult{Step: sign.StepTest, Passed: st.Passed, Summary: st.Detail})
		case "build":
			// One build step makes every platform's image.
			for _, p := range ev.Platforms {
				out.Steps = append(out.Steps, sign.StepResult{Step: sign.StepBuild, Platform: p.Platform, Passed: st.Passed, Summary: st.Detail})
			}
		}
	}
	for _, p := range ev.Platforms {
		out.Steps = append(out.Steps, sign.StepResult{Step: sign.StepScan, Platform: p.Platform, Passed: p.Passed})
		sbom, err := os.ReadFile(filepath.Join(dir, p.SBOM))
		if err != nil {
			return sign.Evidence{}, fmt.Errorf("signing %s: the SBOM of %s: %w", ref, p.Platform, err)
		}
		report, err := os.ReadFile(filepath.Join(dir, p.Trivy))
		if err != nil {
			return sign.Evidence{}, fmt.Errorf("signing %s: the Trivy report of %s: %w", ref, p.Platform, err)
		}
		out.Scans = append(out.Scans, sign.Scan{Platform: p.Platform, Digest: digests[p.Platform], SBOM: sbom, Report: report,
			ScannerVersion: ev.ScannerVersion, DBVersion: ev.DBVersion, StartedOn: started, FinishedOn: finished})
	}
	return out, nil
}
