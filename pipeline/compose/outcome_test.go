package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// A blue-green release that fails its gate never took traffic: the old
// color served throughout, so the run is Unchanged, not Failed.
func TestBlueGreenGateFailureIsUnchanged(t *testing.T) {
	t.Parallel()
	w := newProxyWorld(t)
	c := w.dial(t)
	app, port := w.bgApp(t, "bgout")
	ctx := context.Background()
	r1, err := Deploy(ctx, c, w.bgSpec(app, port, "v1"))
	if err != nil || r1.Outcome != outcome.Succeeded {
		t.Fatalf("deploy v1: %v (outcome %q)", err, r1.Outcome)
	}
	broken := w.bgSpec(app, port, "v3")
	broken.Health.Timeout = 8 * time.Second
	res, err := Deploy(ctx, c, broken)
	if err == nil || !strings.Contains(err.Error(), r1.Release+" kept serving throughout") {
		t.Fatalf("deploy of broken v3: %v", err)
	}
	if res == nil || res.Outcome != outcome.Unchanged {
		t.Fatalf("outcome of a blue-green gate failure = %+v, want %q", res, outcome.Unchanged)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("/version = %q, want v1", got)
	}
}

// A recreate gate failure is RolledBack only when the previous release is
// healthy again; when the previous release fails its own gate too, or
// there is none, it is Failed, whatever the error's wording.
func TestRecreateOutcomeDependsOnThePreviousRelease(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "rcout")
	ctx := context.Background()
	short := func(s Spec) Spec { s.Health.Timeout = 8 * time.Second; return s }

	res, err := Deploy(ctx, c, short(w.spec(app, port, "v3")))
	if err == nil || res.Outcome != outcome.Failed {
		t.Fatalf("first deploy of broken v3: outcome %q, err %v; want %q", res.Outcome, err, outcome.Failed)
	}
	r1, err := Deploy(ctx, c, short(w.spec(app, port, "v1")))
	if err != nil || r1.Outcome != outcome.Succeeded {
		t.Fatalf("deploy v1: %v (outcome %q)", err, r1.Outcome)
	}
	res, err = Deploy(ctx, c, short(w.spec(app, port, "v3")))
	if err == nil || res.Outcome != outcome.RolledBack || version(t, port) != "v1" {
		t.Fatalf("broken v3 over healthy v1: outcome %q, err %v; want %q with v1 serving", res.Outcome, err, outcome.RolledBack)
	}

	// v1's record now says its gate is a path it does not serve: the
	// rollback to it runs, and v1 fails its own gate.
	recPath := filepath.Join(w.srv.AppRoot, app, "releases", r1.Release, "release.json")
	data, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	var rec host.Record
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec.HealthPath = "/no-such-path"
	if data, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Deploy(ctx, c, short(w.spec(app, port, "v3")))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("rolled back to %s, but it is not healthy either", r1.Release)) {
		t.Fatalf("broken v3 over an unhealthy v1: %v", err)
	}
	if res.Outcome != outcome.Failed {
		t.Fatalf("outcome = %q, want %q: nothing healthy is known to serve", res.Outcome, outcome.Failed)
	}
}

// Bad input fails before any remote command: the app directory is never
// created.
func TestBadPublishFailsBeforeTheServerIsTouched(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, _ := w.app(t, "badpub")
	for _, publish := range []string{"70000:8080", "8080:0", "999.1.1.1:80:8080"} {
		spec := w.spec(app, 0, "v1")
		spec.Publish = publish
		res, err := Deploy(context.Background(), w.dial(t), spec)
		if err == nil || !strings.Contains(err.Error(), "publish") {
			t.Errorf("publish %q: err = %v", publish, err)
		}
		if res.Outcome != outcome.Unchanged {
			t.Errorf("publish %q: outcome %q", publish, res.Outcome)
		}
		if _, err := os.Stat(spec.AppDir); !os.IsNotExist(err) {
			t.Fatalf("publish %q: %s exists (%v): the server was touched", publish, spec.AppDir, err)
		}
	}
}
