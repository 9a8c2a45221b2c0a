package host

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Current is the release `current` points at, or "".
func (s *App) Current(ctx context.Context) (string, error) {
	out, err := s.Run(ctx, "read current", fmt.Sprintf("readlink %s/current || true", Q(s.appDir)), nil)
	if err != nil {
		return "", err
	}
	target := strings.TrimSpace(out)
	return strings.TrimPrefix(target, "releases/"), nil
}

// SwitchCurrent points `current` at release atomically (rename over the
// old link).
func (s *App) SwitchCurrent(ctx context.Context, release string) error {
	script := fmt.Sprintf("cd %s && ln -sfn %s current.tmp && mv -Tf current.tmp current", Q(s.appDir), Q("releases/"+release))
	_, err := s.Run(ctx, "switch current", script, nil)
	return err
}

// AppendLog adds one JSON line to deploys.log.
func (s *App) AppendLog(ctx context.Context, e LogEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.Run(ctx, "append deploys.log", fmt.Sprintf("cat >> %s/deploys.log", Q(s.appDir)), bytes.NewReader(append(line, '\n')))
	return err
}

// records reads every release.json.
func (s *App) records(ctx context.Context) ([]Record, error) {
	script := fmt.Sprintf(`cd %s/releases 2>/dev/null || exit 0
for d in */; do [ -f "$d/release.json" ] && { tr -d '\n' < "$d/release.json"; echo; }; done; true`, Q(s.appDir))
	out, err := s.Run(ctx, "list releases", script, nil)
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("release.json: %w", err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// SaveRecord rewrites a release's release.json.
func (s *App) SaveRecord(ctx context.Context, r Record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	dir := s.ReleaseDir(r.Name)
	script := fmt.Sprintf("cat > %[1]s/release.json.tmp && mv -f %[1]s/release.json.tmp %[1]s/release.json", Q(dir))
	_, err = s.Run(ctx, "update release.json", script, bytes.NewReader(data))
	return err
}

// History is every release, newest first with the current one marked,
// and the current release's name.
func (s *App) History(ctx context.Context) ([]Record, string, error) {
	recs, err := s.records(ctx)
	if err != nil {
		return nil, "", err
	}
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, "", err
	}
	sortNewestFirst(recs)
	for i := range recs {
		recs[i].Current = recs[i].Name == cur
	}
	return recs, cur, nil
}
