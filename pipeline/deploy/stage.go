package deploy

import (
	"context"
	"encoding/json"
	"time"
)

// newRecord is the pending record of a new release of spec, named after
// its image and unique among existing, run with strategy.
func newRecord(spec Spec, existing []Record, strategy Strategy) Record {
	return Record{
		Name: uniqueName(releaseName(time.Now(), spec.Image), existing), App: spec.App, Image: spec.Image,
		Version: spec.Version, Commit: spec.Commit, Who: spec.Who, Transfer: spec.Transfer.Name(),
		CreatedAt: time.Now().UTC(), Outcome: OutcomePending, Strategy: strategy,
	}
}

// deployLog is the deploys.log writer for one deploy of rec: it reads rec
// when called, so it logs what the record says by then.
func (s *server) deployLog(ctx context.Context, spec Spec, rec *Record) func(outcome string, err error) {
	return func(outcome string, err error) {
		e := LogEntry{Time: time.Now().UTC(), Event: "deploy", Release: rec.Name, Image: rec.Image, Who: spec.Who, Outcome: outcome,
			Strategy: rec.Strategy, Color: rec.Color}
		if err != nil {
			e.Error = err.Error()
		}
		// The deploy's own context may be what failed; the log must still
		// say so.
		_ = s.appendLog(context.WithoutCancel(ctx), e)
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
func (s *server) stage(ctx context.Context, spec Spec, rec *Record, render composeRenderer) (string, error) {
	image, err := spec.Transfer.deliver(ctx, s, spec.Image)
	if err != nil {
		return "", err
	}
	if rec.ImageID, err = s.imageID(ctx, image); err != nil {
		return "", err
	}
	compose, err := render(spec, image, len(spec.Env) > 0)
	if err != nil {
		return "", err
	}
	files := map[string]fileContent{"compose.yaml": {compose, 0o644}}
	if len(spec.Env) > 0 {
		files[".env"] = fileContent{spec.Env, 0o600}
	}
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	files["release.json"] = fileContent{recJSON, 0o644}
	return image, s.writeRelease(ctx, rec.Name, files)
}
