package compose

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
)

func readRecord(t *testing.T, file string) host.Record {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rec host.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// A release.json written by the goship before strategies owned their
// part (testdata: written by that code, color and proxy at the top level)
// reads as blue-green's own: its strategy, label, serving project, proxy
// and the settings the next deploy keeps.
func TestABlueGreenRecordFromBeforeStrategyStateStillReads(t *testing.T) {
	rec := readRecord(t, "testdata/release-bluegreen-before-strategy-state.json")
	want := blueGreenState{Color: ColorGreen, Proxy: &proxy.Record{
		Name: "goship-proxy", Root: "/opt/goship-proxy", Image: "caddy:2", Port: 80, Host: "api.example.com", Drain: 30 * time.Second}}
	check := func(when string, rec host.Record) {
		t.Helper()
		st, err := forRecord(rec)
		if err != nil || st.name() != StrategyBlueGreen {
			t.Fatalf("%s: strategy %v, %v", when, st, err)
		}
		got, err := blueGreen{}.stateOf(rec)
		if err != nil || got.Color != want.Color || *got.Proxy != *want.Proxy {
			t.Fatalf("%s: blue-green's part = %+v %+v, %v; want %+v %+v", when, got, got.Proxy, err, want, want.Proxy)
		}
		sv := ServingOf(host.New(nil, "api", "/opt/api", "app"), rec)
		if sv.Strategy != "blue-green, color green" || sv.App.Project() != "api-green" {
			t.Fatalf("%s: serving %q in project %s", when, sv.Strategy, sv.App.Project())
		}
		_, spec, err := forDeploy(Spec{App: "api"}, rec)
		if err != nil || spec.Strategy != StrategyBlueGreen || spec.Proxy.Host != "api.example.com" || spec.Proxy.Drain != 30*time.Second {
			t.Fatalf("%s: the next deploy settles %q %+v, %v", when, spec.Strategy, spec.Proxy, err)
		}
	}
	check("as written before", rec)

	// Saved again (a rollback or a restore rewrites it), the record takes
	// the new form and reads the same.
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["color"]; ok || top["strategy_state"] == nil {
		t.Fatalf("rewritten record keeps the old form:\n%s", data)
	}
	var again host.Record
	if err := json.Unmarshal(data, &again); err != nil {
		t.Fatal(err)
	}
	check("rewritten", again)
}

// A record from before strategies (no strategy at all) ran recreate.
func TestARecordFromBeforeStrategiesRanRecreate(t *testing.T) {
	rec := readRecord(t, "testdata/release-recreate-before-strategies.json")
	if len(rec.StrategyState) != 0 {
		t.Fatalf("a record with only known fields has a strategy part: %s", rec.StrategyState)
	}
	sv := ServingOf(host.New(nil, "api", "/opt/api", "app"), rec)
	if sv.Strategy != "recreate" || sv.App.Project() != "api" {
		t.Fatalf("serving %q in project %s", sv.Strategy, sv.App.Project())
	}
	if st, err := forRecord(rec); err != nil || st.name() != StrategyRecreate {
		t.Fatalf("strategy %v, %v", st, err)
	}
}

// A strategy this goship does not know is named, not guessed.
func TestAnUnknownStrategyIsNamed(t *testing.T) {
	rec := host.Record{Name: "r9", Strategy: "canary"}
	if _, err := forRecord(rec); err == nil {
		t.Fatal("an unknown strategy was accepted")
	}
	if got := labelOf(rec); got != "canary (unknown)" {
		t.Fatalf("label %q", got)
	}
	if _, err := ParseStrategy("canary"); err == nil {
		t.Fatal("ParseStrategy accepted canary")
	}
}
