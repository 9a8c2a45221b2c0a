package host

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Prune removes releases beyond keep, never the current one or the
// healthy one before it, and then the images no kept release uses.
func (s *App) Prune(ctx context.Context, keep int) ([]string, error) {
	recs, cur, err := s.History(ctx)
	if err != nil {
		return nil, err
	}
	protected := map[string]bool{cur: true}
	if p := PreviousHealthy(recs, cur); p != "" {
		protected[p] = true
	}
	var pruned []string
	keptImages := map[string]bool{}
	for i, r := range recs {
		if i < keep || protected[r.Name] {
			keptImages[r.Image] = true
			continue
		}
		pruned = append(pruned, r.Name)
	}
	if len(pruned) == 0 {
		return nil, nil
	}
	var script strings.Builder
	for _, r := range recs {
		if !slices.Contains(pruned, r.Name) {
			continue
		}
		fmt.Fprintf(&script, "rm -rf %s\n", Q(s.ReleaseDir(r.Name)))
		if !keptImages[r.Image] {
			fmt.Fprintf(&script, "docker image rm %s >/dev/null 2>&1 || true\n", Q(r.Image))
		}
	}
	_, err = s.Run(ctx, "prune releases", script.String(), nil)
	return pruned, err
}

// Release is the record of release, read from the server.
func (s *App) Release(ctx context.Context, release string) (Record, error) {
	recs, err := s.records(ctx)
	if err != nil {
		return Record{}, err
	}
	if r, ok := FindRecord(recs, release); ok {
		return r, nil
	}
	return Record{}, fmt.Errorf("no release %q", release)
}
