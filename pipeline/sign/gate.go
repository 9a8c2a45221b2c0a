package sign

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/scan"
)

// GateOutcome is the Trivy gate's decision for a build.
type GateOutcome string

// Gate outcomes.
const (
	GatePassed GateOutcome = "passed"
	GateFailed GateOutcome = "failed"
)

// Run names the CI run that built and gated an image.
type Run struct {
	// Commit is the full git commit the image was built from.
	Commit string `json:"commit"`
	// WorkflowRun is the CI run's URL (or id where there is no URL).
	WorkflowRun string `json:"workflowRun"`
	// GoshipVersion is the goship version that ran the pipeline.
	GoshipVersion string `json:"goshipVersion"`
}

// Gate is goship's provenance-and-gate statement (predicate type
// GatePredicateType): which run built the digest, and what the gate said.
type Gate struct {
	Run
	Outcome GateOutcome `json:"outcome"`
	// GatedSeverities are the severities that fail the gate.
	GatedSeverities []string `json:"gatedSeverities"`
	// Counts are the findings by severity, gated or not.
	Counts map[string]int `json:"counts"`
	// Blocking counts findings at a gated severity that were not
	// allowlisted (expired allowlist entries included).
	Blocking int `json:"blocking"`
	// Allowlisted counts gated findings let through by the allowlist.
	Allowlisted int       `json:"allowlisted"`
	FinishedAt  time.Time `json:"finishedAt"`
}

// NewGate records a scan verdict under policy p for run.
func NewGate(run Run, v scan.Verdict, p scan.Policy, finished time.Time) Gate {
	g := Gate{
		Run:             run,
		Outcome:         GateFailed,
		GatedSeverities: slices.Clone(p.Severities),
		Counts:          map[string]int{},
		Blocking:        len(v.Blocking),
		Allowlisted:     len(v.Allowed),
		FinishedAt:      finished.UTC(),
	}
	if v.Pass() {
		g.Outcome = GatePassed
	}
	for sev, n := range v.CountsBySev {
		g.Counts[sev] = n
	}
	return g
}

// Validate rejects a gate statement that could mislead a verifier.
func (g Gate) Validate() error {
	switch {
	case g.Commit == "":
		return errors.New("gate statement: the commit is empty")
	case g.Outcome != GatePassed && g.Outcome != GateFailed:
		return fmt.Errorf("gate statement: outcome %q, want %q or %q", g.Outcome, GatePassed, GateFailed)
	case g.Outcome == GatePassed && g.Blocking > 0:
		return fmt.Errorf("gate statement: outcome passed with %d blocking findings", g.Blocking)
	}
	return nil
}

// Summary is one line for messages: the outcome, then Findings.
func (g Gate) Summary() string { return string(g.Outcome) + ": " + g.Findings() }

// Findings is the blocking count and the findings by severity, highest
// first.
func (g Gate) Findings() string {
	var parts []string
	sevs := scan.Severities()
	for i := len(sevs) - 1; i >= 0; i-- {
		if n := g.Counts[sevs[i]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", sevs[i], n))
		}
	}
	counts := "no findings"
	if len(parts) > 0 {
		counts = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%d blocking at %s (%s)", g.Blocking, strings.Join(g.GatedSeverities, "/"), counts)
}

// GatePredicate attests g.
func GatePredicate(g Gate) (Predicate, error) {
	if err := g.Validate(); err != nil {
		return Predicate{}, err
	}
	b, err := json.Marshal(g)
	if err != nil {
		return Predicate{}, fmt.Errorf("gate statement: %w", err)
	}
	return Predicate{Type: GatePredicateType, Body: b}, nil
}
