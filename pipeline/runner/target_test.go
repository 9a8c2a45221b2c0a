package runner

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// dirTarget is a third target, for the tests: it "runs" a release by
// writing its image to a file in a directory, and keeps its history
// there. It is all a new target writes: Plan, Rollback, Releases and
// Status. Deploy and rollback, the policy check, the report and the
// notifications come from the shared path (deployRelease,
// rollbackRelease, finish), untouched.
type dirTarget struct {
	dir  string
	fail bool // the next release fails its gate and is rolled back
}

func (d *dirTarget) Name() string { return "directory" }

func (d *dirTarget) Plan(_ context.Context, spec job.Deploy) (Planned, error) {
	if spec.Image == "" {
		return nil, errors.New("directory target: --image is required")
	}
	return &dirRelease{d: d, image: spec.Image}, nil
}

func (d *dirTarget) history() []string {
	raw, _ := os.ReadFile(filepath.Join(d.dir, "history"))
	return strings.Fields(string(raw))
}

func (d *dirTarget) serve(image string) error {
	if err := os.WriteFile(filepath.Join(d.dir, "serving"), []byte(image), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d.dir, "history"), []byte(strings.Join(append(d.history(), image), "\n")), 0o600)
}

func (d *dirTarget) Rollback(_ context.Context, _ job.Rollback, _ Guard) (Report, error) {
	h := d.history()
	if len(h) < 2 {
		return Report{Outcome: outcome.Failed}, errors.New("directory target: no earlier release")
	}
	prev := h[len(h)-2]
	if err := d.serve(prev); err != nil {
		return Report{Outcome: outcome.Failed}, err
	}
	return Report{Outcome: outcome.Succeeded, Summary: "back to " + prev, Event: notify.Event{Image: prev}}, nil
}

func (d *dirTarget) Releases(context.Context) (string, error) {
	return strings.Join(d.history(), "\n"), nil
}

func (d *dirTarget) Status(context.Context) (string, error) {
	raw, err := os.ReadFile(filepath.Join(d.dir, "serving"))
	return string(raw), err
}

type dirRelease struct {
	d     *dirTarget
	image string
}

func (r *dirRelease) Images() []string { return []string{r.image} }

func (r *dirRelease) Pin(pinned map[string]string) error {
	if p, ok := pinned[r.image]; ok {
		r.image = p
	}
	return nil
}

func (r *dirRelease) Run(context.Context, Guard) (Report, error) {
	if r.d.fail {
		return Report{Outcome: outcome.RolledBack, Event: notify.Event{Image: r.image}}, errors.New("directory target: the release failed its gate; the previous one serves")
	}
	if err := r.d.serve(r.image); err != nil {
		return Report{Outcome: outcome.Failed}, err
	}
	return Report{Outcome: outcome.Succeeded, Summary: "serving " + r.image, Event: notify.Event{Image: r.image}}, nil
}

// webhook is a real HTTP endpoint that keeps the JSON events it is sent.
type webhook struct {
	mu     sync.Mutex
	events []map[string]any
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	var ev map[string]any
	if err := json.NewDecoder(req.Body).Decode(&ev); err == nil {
		w.mu.Lock()
		w.events = append(w.events, ev)
		w.mu.Unlock()
	}
	rw.WriteHeader(http.StatusOK)
}

func (w *webhook) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

func (w *webhook) last(t *testing.T) map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.events) == 0 {
		t.Fatal("the webhook was told nothing")
	}
	return w.events[len(w.events)-1]
}

// A third target plugs into the one deploy, rollback, report and notify
// path: its outcomes reach the webhook typed, a failed release is
// reported as rolled back with its reason, and a checked job touches it
// not at all.
func TestAThirdTargetSharesTheReleasePath(t *testing.T) {
	hook := &webhook{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	urlFile := filepath.Join(t.TempDir(), "notify")
	writeFile(t, urlFile, "json+"+srv.URL+"/hook")
	j := job.Job{Verb: job.VerbDeploy, Run: job.Run{App: "hello", Who: "test"}, Notify: []string{urlFile}}
	e, err := newEnv(j, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := &dirTarget{dir: t.TempDir()}
	deploy := func(image string) (job.Result, error) {
		j := j
		j.Deploy = &job.Deploy{Image: image}
		return deployRelease(ctx, e, d, j)
	}

	checked := j
	checked.Check, checked.Deploy = true, &job.Deploy{Image: "v0"}
	if res, err := deployRelease(ctx, e, d, checked); err != nil || !strings.Contains(res.Output, "directory") {
		t.Fatalf("a checked job: %+v, %v", res, err)
	}
	if len(d.history()) != 0 || hook.count() != 0 {
		t.Fatalf("a checked job touched the target (%v) or notified (%d events)", d.history(), hook.count())
	}

	for _, image := range []string{"v1", "v2"} {
		res, err := deploy(image)
		if err != nil || res.Outcome != string(outcome.Succeeded) {
			t.Fatalf("deploy %s: %+v, %v", image, res, err)
		}
		if ev := hook.last(t); ev["kind"] != string(notify.Deploy) || ev["outcome"] != string(outcome.Succeeded) || ev["app"] != "hello" || ev["image"] != image {
			t.Fatalf("the webhook was told %v after deploying %s", ev, image)
		}
	}

	d.fail = true
	res, err := deploy("v3")
	if err == nil || res.Outcome != string(outcome.RolledBack) {
		t.Fatalf("a failing release: %+v, %v; want an error and %s", res, err, outcome.RolledBack)
	}
	if ev := hook.last(t); ev["outcome"] != string(outcome.RolledBack) || !strings.Contains(ev["reason"].(string), "failed its gate") {
		t.Fatalf("the webhook was told %v after a failed release", ev)
	}
	if s, _ := d.Status(ctx); s != "v2" {
		t.Fatalf("after the failed release %q serves, want v2", s)
	}

	rj := j
	rj.Verb, rj.Rollback = job.VerbRollback, &job.Rollback{}
	if res, err := rollbackRelease(ctx, e, d, rj); err != nil || res.Outcome != string(outcome.Succeeded) {
		t.Fatalf("rollback: %+v, %v", res, err)
	}
	if ev := hook.last(t); ev["kind"] != string(notify.Rollback) || ev["image"] != "v1" {
		t.Fatalf("the webhook was told %v after the rollback", ev)
	}
}
