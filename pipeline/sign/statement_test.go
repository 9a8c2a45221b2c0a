package sign_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/scan"
	"github.com/goship-dev/goship/pipeline/sign"
)

func TestPredicatesRefuseWhatTheyCannotStandFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() (sign.Predicate, error)
		err  string
	}{
		{"SBOM that is SPDX", func() (sign.Predicate, error) {
			return sign.SBOMPredicate([]byte(`{"spdxVersion":"SPDX-2.3"}`))
		}, "bomFormat"},
		{"SBOM that is not JSON", func() (sign.Predicate, error) { return sign.SBOMPredicate([]byte("<bom/>")) }, "not JSON"},
		{"Trivy table output", func() (sign.Predicate, error) {
			return sign.VulnPredicate(sign.VulnScan{Report: []byte("Total: 1 (HIGH: 1)")})
		}, "not JSON"},
		{"gate without commit", func() (sign.Predicate, error) {
			return sign.GatePredicate(sign.Gate{Outcome: sign.GatePassed})
		}, "commit is empty"},
		{"gate with a made-up outcome", func() (sign.Predicate, error) {
			return sign.GatePredicate(sign.Gate{Run: testRun, Outcome: "skipped"})
		}, `outcome "skipped"`},
		{"passed with blocking findings", func() (sign.Predicate, error) {
			return sign.GatePredicate(sign.Gate{Run: testRun, Outcome: sign.GatePassed, Blocking: 2})
		}, "passed with 2 blocking"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.make(); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want one saying %q", err, tc.err)
			}
		})
	}
}

func TestNewGateRecordsTheVerdict(t *testing.T) {
	rep, err := scan.ParseReport([]byte(trivyReport))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	allow, err := scan.ParseAllowlist([]byte("- id: CVE-2026-0001\n  expires: 2027-01-01\n  reason: the fix lands upstream in January\n"))
	if err != nil {
		t.Fatalf("allowlist: %v", err)
	}
	for _, tc := range []struct {
		name    string
		policy  scan.Policy
		allow   scan.Allowlist
		outcome sign.GateOutcome
		summary string
	}{
		{"HIGH gated", scan.DefaultPolicy(), nil, sign.GateFailed, "failed: 1 blocking at HIGH/CRITICAL (HIGH 1, LOW 1)"},
		{"HIGH allowlisted", scan.DefaultPolicy(), allow, sign.GatePassed, "passed: 0 blocking at HIGH/CRITICAL (HIGH 1, LOW 1)"},
		{"CRITICAL only", passingPolicy(), nil, sign.GatePassed, "passed: 0 blocking at CRITICAL (HIGH 1, LOW 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := sign.NewGate(testRun, scan.Gate(rep, tc.policy, tc.allow, now), tc.policy, now)
			if g.Outcome != tc.outcome || g.Summary() != tc.summary || !g.FinishedAt.Equal(now) || g.FinishedAt.Location() != time.UTC {
				t.Fatalf("gate %+v (%s), want %s, %q, finished %s in UTC", g, g.Summary(), tc.outcome, tc.summary, now)
			}
			p, err := sign.GatePredicate(g)
			if err != nil {
				t.Fatal(err)
			}
			var back sign.Gate
			if err := json.Unmarshal(p.Body, &back); err != nil || back.Commit != testRun.Commit || back.Outcome != tc.outcome {
				t.Fatalf("predicate %s does not round-trip: %+v, %v", p.Body, back, err)
			}
		})
	}
}
