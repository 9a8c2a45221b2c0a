package fleet

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
)

func TestReportMixed(t *testing.T) {
	tests := []struct {
		name  string
		hosts []HostReport
		mixed bool
	}{
		{"all moved", []HostReport{{Previous: "a1", New: "b1", Serving: "b1"}, {Previous: "a2", New: "b2", Serving: "b2"}}, false},
		{"all back", []HostReport{{Previous: "a1", New: "b1", Serving: "a1"}, {Previous: "a2", Serving: "a2"}}, false},
		{"one left on new", []HostReport{{Previous: "a1", New: "b1", Serving: "b1"}, {Previous: "a2", New: "b2", Serving: "a2"}}, true},
		{"one unknown", []HostReport{{Previous: "a1", New: "b1", Serving: "a1"}, {Previous: "a2", New: "b2", Serving: ""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (&Report{Hosts: tt.hosts}).Mixed(); got != tt.mixed {
				t.Fatalf("Mixed() = %v, want %v", got, tt.mixed)
			}
		})
	}
}

func TestFormatReport(t *testing.T) {
	r := &Report{App: "api", Version: "v2", Outcome: outcome.Failed, Took: 21 * time.Second, Hosts: []HostReport{
		{Host: "10.0.0.1:22", Previous: "r1-v1", New: "r1-v2", Outcome: outcome.RolledBack, Serving: "r1-v1", Took: 9 * time.Second},
		{Host: "10.0.0.2:22", Previous: "r2-v1", New: "r2-v2", Outcome: outcome.RolledBack, Serving: "r2-v1", Took: 8 * time.Second, Error: "deploy of r2-v2 failed health gate\nlast 50 log lines:\nboom"},
		{Host: "10.0.0.3:22", Previous: "r3-v1", Outcome: outcome.Unchanged, Serving: "r3-v1"},
		{Host: "10.0.0.4:22", Previous: "r4-v1", New: "r4-v2", Outcome: outcome.Failed, Error: "rollback to r4-v1: ssh unreachable"},
	}}
	got := FormatReport(r)
	for _, want := range []string{
		"fleet deploy of api (v2) to 4 hosts: failed in 21s",
		"HOST         PREVIOUS  NEW    OUTCOME      SERVING  TIME",
		"10.0.0.1:22  r1-v1     r1-v2  rolled-back  r1-v1    9s",
		"10.0.0.3:22  r3-v1     -      unchanged    r3-v1    -",
		"10.0.0.4:22  r4-v1     r4-v2  failed       ?        -",
		"10.0.0.2:22: deploy of r2-v2 failed health gate\n    last 50 log lines:\n    boom",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "MIXED") {
		t.Errorf("a fleet with a host in an unknown state does not read as mixed:\n%s", got)
	}
	ev := r.Event()
	if ev.Kind != notify.Fleet || ev.Outcome != outcome.Failed || len(ev.Hosts) != 4 ||
		ev.Reason != "10.0.0.2:22: deploy of r2-v2 failed health gate; 10.0.0.4:22: rollback to r4-v1: ssh unreachable" {
		t.Errorf("event = %+v", ev)
	}
}

func TestDrift(t *testing.T) {
	rec := func(name, version, id string) host.Record {
		return host.Record{Name: name, Version: version, Image: "reg/app@" + id, ImageID: id, Current: true}
	}
	views := []HostView{
		{Host: "h1", Releases: []host.Record{rec("r1", "v2", "sha256:b")}},
		{Host: "h2", Releases: []host.Record{rec("r2", "v1", "sha256:a")}},
		{Host: "h3", Releases: []host.Record{rec("r3", "v2", "sha256:b")}},
		{Host: "h4", Err: errors.New("ssh h4:22 unreachable")},
	}
	got := FormatDrift(views)
	want := "DRIFT: 3 hosts run 2 different releases:\n  v2 (reg/app@sha256:b): h1, h3\n  v1 (reg/app@sha256:a): h2\nUNKNOWN: h4 (unreachable or never deployed; see above)\n"
	if got != want {
		t.Fatalf("FormatDrift =\n%s\nwant\n%s", got, want)
	}
	// Release names differ per host (they carry the deploy time): hosts on
	// one image are in step.
	inStep := []HostView{views[0], views[2]}
	if got := FormatDrift(inStep); got != "IN STEP: all 2 hosts run v2 (reg/app@sha256:b)\n" {
		t.Fatalf("FormatDrift in step = %q", got)
	}
}
