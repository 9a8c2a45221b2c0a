package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// newRecord is the pending record of a new release of spec, named after
// its image and unique among existing, run with strategy st.
func newRecord(spec Spec, existing []host.Record, st strategy) host.Record {
	return host.Record{
		Name: uniqueName(releaseName(time.Now(), spec.Image), existing), App: spec.App, Image: spec.Image,
		Version: spec.Version, Commit: spec.Commit, Who: spec.Who, Transfer: spec.Transfer.Name(),
		CreatedAt: time.Now().UTC(), Outcome: outcome.ReleasePending, Strategy: string(st.name()),
	}
}

// journal writes one deploy's or rollback's lines to deploys.log: one
// as it starts, one with its outcome as it ends. It reads rec when it
// writes, so each line says what the record says by then (blue-green
// picks its color after the record is made).
type journal struct {
	ctx   context.Context
	a     *host.App
	event string // deploy or rollback
	who   string
	rec   *host.Record
}

// deployJournal is the journal of a deploy of rec.
func deployJournal(ctx context.Context, a *host.App, spec Spec, rec *host.Record) journal {
	return journal{ctx: ctx, a: a, event: "deploy", who: spec.Who, rec: rec}
}

func (j journal) start() { j.write(host.LogEntry{Started: true}) }

// end logs how the run ended, and why when err is set.
func (j journal) end(o outcome.Outcome, err error) {
	e := host.LogEntry{Outcome: o}
	if err != nil {
		e.Error = err.Error()
	}
	j.write(e)
}

func (j journal) write(e host.LogEntry) {
	e.Time, e.Event, e.Release, e.Image, e.Who, e.Strategy = time.Now().UTC(), j.event, j.rec.Name, j.rec.Image, j.who, labelOf(*j.rec)
	// The run's own context may be what failed; the log must still say
	// so.
	_ = j.a.AppendLog(context.WithoutCancel(j.ctx), e)
}

// composeRenderer renders a release's compose.yaml for image (Compose,
// BlueGreenCompose).
type composeRenderer func(spec Spec, image string, withEnv bool) ([]byte, error)

// stage gets the image onto the server and writes the release directory
// (compose.yaml, .env, release.json) for rec, filling in its image ID.
// Nothing else on the server changes: no container starts until the image
// is there and the release is complete. It returns the reference compose
// runs.
func stage(ctx context.Context, a *host.App, spec Spec, rec *host.Record, render composeRenderer) (string, error) {
	image, err := spec.Transfer.Deliver(ctx, a, spec.Image)
	if err != nil {
		return "", err
	}
	if rec.ImageID, err = a.ImageID(ctx, image); err != nil {
		return "", err
	}
	compose, err := render(spec, image, len(spec.Env) > 0)
	if err != nil {
		return "", err
	}
	files := map[string]host.File{"compose.yaml": {Data: compose, Mode: 0o644}}
	if len(spec.Env) > 0 {
		files[".env"] = host.File{Data: spec.Env, Mode: 0o600}
	}
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	files["release.json"] = host.File{Data: recJSON, Mode: 0o644}
	return image, a.WriteRelease(ctx, rec.Name, files)
}

// failedGate builds a failed deploy's error: the check that failed, what
// was done about it, and the new container's last log lines.
func failedGate(release string, gateErr error, done, logs string) error {
	return fmt.Errorf("deploy of %s failed health gate: %w; %s\nlast 50 log lines of the new container:\n%s", release, gateErr, done, strings.TrimRight(logs, "\n"))
}

// lastLogs is the tail of a's service container of release, for an error.
func lastLogs(ctx context.Context, a *host.App, release string) string {
	if id, err := a.ContainerID(ctx, release); err == nil {
		return a.Logs(ctx, id, 50)
	}
	return "(no container)"
}

// finish marks rec healthy and current after its gate passed, logs it
// and prunes; it returns the run's result.
func finish(ctx context.Context, d *deployment, rec host.Record, image string, log journal) (*Result, error) {
	if err := d.a.SwitchCurrent(ctx, rec.Name); err != nil {
		log.end(outcome.Failed, err)
		return &Result{Release: rec.Name, Previous: d.prev.Name, Outcome: outcome.Failed}, fmt.Errorf("release %s passed its gate, but pointing current at it failed: %w", rec.Name, err)
	}
	rec.Outcome = outcome.ReleaseHealthy
	_ = d.a.SaveRecord(ctx, rec)
	log.end(outcome.Succeeded, nil)
	return &Result{Release: rec.Name, Image: image, Previous: d.prev.Name, Outcome: outcome.Succeeded}, nil
}

var nonTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// releaseName is <UTC yyyymmddHHMMSS>-<tag>: sortable and readable. The
// tag is the image's tag, or the first 12 hex digits of its digest.
func releaseName(t time.Time, image string) string {
	tag := "image"
	if ref, err := name.ParseReference(image); err == nil {
		switch r := ref.(type) {
		case name.Digest:
			tag = strings.TrimPrefix(r.DigestStr(), "sha256:")
			if len(tag) > 12 {
				tag = tag[:12]
			}
		case name.Tag:
			tag = r.TagStr()
		}
	}
	return t.UTC().Format("20060102150405") + "-" + nonTagChars.ReplaceAllString(tag, "_")
}

// uniqueName appends -2, -3… when a release of that name exists (two
// deploys of one tag within a second).
func uniqueName(base string, existing []host.Record) string {
	taken := map[string]bool{}
	for _, r := range existing {
		taken[r.Name] = true
	}
	n := base
	for i := 2; taken[n]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	return n
}
