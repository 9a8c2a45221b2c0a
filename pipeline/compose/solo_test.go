package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// solo is a fourth strategy that exists only in the tests, to prove the
// seam: this file and the one registration line in init are all of it.
// It runs the app in a compose project of its own, <app>-solo, and keeps
// a part of its own in the record; status, releases, ServingOf (how
// pipeline/ops finds the serving container) and maintenance handle it
// with no edit anywhere else.
const strategySolo Strategy = "solo"

func init() { strategies = append(strategies, solo{}) }

type solo struct{}

type soloState struct {
	Slot string `json:"slot"`
}

var errSoloMaintenance = errors.New("solo answers for itself in maintenance")

func (solo) name() Strategy   { return strategySolo }
func (solo) describe() string { return string(strategySolo) }
func (solo) check(Spec) error { return nil }

func (s solo) takeOver(spec Spec, prev host.Record, from strategy) (deployRun, Spec, error) {
	if prev.Name != "" && from.name() != s.name() {
		return nil, spec, fmt.Errorf("%s runs %s: solo starts only new apps", spec.App, from.name())
	}
	return s, spec, nil
}

func (s solo) deploy(ctx context.Context, d *deployment) (*Result, error) {
	a := s.serving(d.a, host.Record{})
	rec := newRecord(d.spec, d.existing, s)
	rec.HealthPath, rec.HealthHost, rec.HealthPort = d.spec.Health.Path, d.spec.Health.Host, d.spec.Health.Port
	writeState(&rec, s, soloState{Slot: "only"})
	log := deployJournal(ctx, a, d.spec, &rec)
	image, err := stage(ctx, a, d.spec, &rec, Compose)
	if err != nil {
		return unchanged(), err
	}
	if err := startAndGate(ctx, a, rec, d.spec.Health); err != nil {
		return recoverFrom(ctx, a, rec, d.prev, d.spec.Health, err, log)
	}
	return finish(ctx, d, rec, image, log)
}

func (s solo) rollback(ctx context.Context, r *rollbackJob) (*Result, error) {
	r.a = s.serving(r.a, r.target)
	return recreate{}.rollback(ctx, r)
}

func (s solo) verify(ctx context.Context, a *host.App, cur host.Record, h host.Health) error {
	return recreate{}.verify(ctx, s.serving(a, cur), cur, h)
}

func (s solo) restore(ctx context.Context, a *host.App, cur host.Record, h host.Health) (bool, error) {
	return recreate{}.restore(ctx, s.serving(a, cur), cur, h)
}

func (s solo) abandon(ctx context.Context, a *host.App, pending host.Record, first bool) bool {
	return recreate{}.abandon(ctx, s.serving(a, pending), pending, first)
}

func (solo) label(rec host.Record) string {
	var st soloState
	_ = readState(rec, &st)
	return string(strategySolo) + ", slot " + st.Slot
}

func (solo) serving(a *host.App, _ host.Record) *host.App { return a.WithProject(a.Name() + "-solo") }

func (solo) status(context.Context, *host.App, host.Record, *State) error { return nil }

func (solo) maintenance(context.Context, *host.App, host.Record, *proxy.Maintenance) (string, error) {
	return "", errSoloMaintenance
}

func TestAFourthStrategyIsOneFileAndOneLine(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "solo")
	t.Cleanup(func() { w.docker.RemoveComposeProject(app + "-solo") })
	ctx := context.Background()
	dir := w.srv.AppRoot + "/" + app

	if _, err := ParseStrategy("solo"); err != nil {
		t.Fatal(err)
	}
	spec := w.spec(app, port, "v1")
	spec.Strategy = strategySolo
	res, err := Deploy(ctx, c, spec)
	if err != nil || res.Strategy != "solo" {
		t.Fatalf("deploy v1 with solo: %+v, %v", res, err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q", got)
	}
	// Status finds the container in solo's project: in the app's own, it
	// would say absent.
	st, err := Status(ctx, c, app, dir, "")
	if err != nil || st.Strategy != "solo, slot only" || st.Container != "running" || !st.Matches || st.Proxy != nil {
		t.Fatalf("status = %+v, %v", st, err)
	}
	recs, err := Releases(ctx, c, app, dir)
	if err != nil {
		t.Fatal(err)
	}
	if table := FormatReleases(recs); !strings.Contains(table, "solo, slot only") {
		t.Fatalf("releases:\n%s", table)
	}
	a, err := host.Open(c, app, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if sv := ServingOf(a, recs[0]); sv.App.Project() != app+"-solo" || sv.Strategy != "solo, slot only" {
		t.Fatalf("serving %q in project %s", sv.Strategy, sv.App.Project())
	}
	m, _ := proxy.NewMaintenance("", time.Minute)
	if _, err := SetMaintenance(ctx, c, app, dir, m); !errors.Is(err, errSoloMaintenance) {
		t.Fatalf("maintenance of a solo app: %v", err)
	}

	// The verbs run it too: a second release, and back.
	if _, err := Deploy(ctx, c, w.spec(app, port, "v2")); err != nil {
		t.Fatalf("deploy v2, keeping solo: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q", got)
	}
	rb, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: dir, Who: "test", Health: spec.Health})
	if err != nil || rb.Strategy != "solo" {
		t.Fatalf("rollback: %+v, %v", rb, err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the rollback: /version = %q", got)
	}
}
