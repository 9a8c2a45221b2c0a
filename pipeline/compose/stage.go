package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// newRecord is the pending record of a new release of spec, named after
// its image and unique among existing, run with strategy.
func newRecord(spec Spec, existing []host.Record, strategy Strategy) host.Record {
	return host.Record{
		Name: host.UniqueName(host.ReleaseName(time.Now(), spec.Image), existing), App: spec.App, Image: spec.Image,
		Version: spec.Version, Commit: spec.Commit, Who: spec.Who, Transfer: spec.Transfer.Name(),
		CreatedAt: time.Now().UTC(), Outcome: host.OutcomePending, Strategy: string(strategy),
	}
}

// deployLog is the deploys.log writer for one deploy of rec: it reads rec
// when called, so it logs what the record says by then.
func deployLog(ctx context.Context, a *host.App, spec Spec, rec *host.Record) func(outcome string, err error) {
	return func(outcome string, err error) {
		e := host.LogEntry{Time: time.Now().UTC(), Event: "deploy", Release: rec.Name, Image: rec.Image, Who: spec.Who, Outcome: outcome,
			Strategy: rec.Strategy, Color: rec.Color}
		if err != nil {
			e.Error = err.Error()
		}
		// The deploy's own context may be what failed; the log must still
		// say so.
		_ = a.AppendLog(context.WithoutCancel(ctx), e)
	}
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
func finish(ctx context.Context, d *deployment, rec host.Record, image string, logEvent func(string, error)) (*Result, error) {
	if err := d.a.SwitchCurrent(ctx, rec.Name); err != nil {
		logEvent("failed", err)
		return &Result{Release: rec.Name, Previous: d.prev.Name, Outcome: outcome.Failed}, fmt.Errorf("release %s passed its gate, but pointing current at it failed: %w", rec.Name, err)
	}
	rec.Outcome = host.OutcomeHealthy
	_ = d.a.SaveRecord(ctx, rec)
	logEvent("succeeded", nil)
	return &Result{Release: rec.Name, Image: image, Previous: d.prev.Name, Outcome: outcome.Succeeded}, nil
}
