package modcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EngineTidy runs go mod tidy the way the engine's Go SDK does when it
// loads the module: on the source dagger.json lets in, not on the whole
// checkout. A package the module's tests import from an excluded
// directory passes a tidy of the checkout, yet fails every call on a
// cold engine; this finds it without one.
func EngineTidy(ctx context.Context, dir string) error {
	view, err := os.MkdirTemp("", "goship-engine-view-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(view) }()
	if err := copyEngineView(dir, view); err != nil {
		return fmt.Errorf("modcheck: copying the module source dagger.json includes: %w", err)
	}
	if err := Tidy(ctx, view, false); err != nil {
		return fmt.Errorf("modcheck: the engine's view of the module (dagger.json's include) does not tidy; "+
			"a package it needs is excluded there: %w", err)
	}
	return nil
}

// copyEngineView copies dir to view without what dagger.json's include
// excludes ("!path" entries: a top path or a directory, as goship uses them).
func copyEngineView(dir, view string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "dagger.json"))
	if err != nil {
		return err
	}
	var cfg struct {
		Include []string `json:"include"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("parsing dagger.json: %w", err)
	}
	excluded := map[string]bool{".git": true}
	for _, p := range cfg.Include {
		if rest, ok := strings.CutPrefix(p, "!"); ok {
			excluded[strings.TrimSuffix(rest, "/")] = true
		}
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		if excluded[filepath.ToSlash(rel)] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(view, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		content, err := os.ReadFile(path) //nolint:gosec // goship's own checkout
		if err != nil {
			return err
		}
		return os.WriteFile(target, content, 0o600) //nolint:gosec // target is inside our own temp dir
	})
}
