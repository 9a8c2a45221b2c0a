package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
)

// durationFlag is a duration given on the command line as text ("30s"):
// Dagger has no duration type.
type durationFlag struct {
	name  string
	value string
	out   *time.Duration
}

// parseDurationFlags parses every given duration, naming the bad flag; an
// empty value leaves *out alone (the pipeline's default applies).
func parseDurationFlags(flags ...durationFlag) error {
	for _, f := range flags {
		if f.value == "" {
			continue
		}
		d, err := time.ParseDuration(f.value)
		if err != nil || d < 0 {
			return fmt.Errorf("--%s %q: want a duration such as 30s or 2m", f.name, f.value)
		}
		*f.out = d
	}
	return nil
}

// plainHTTP reports whether host is one of the registries the constructor
// allowed over plain HTTP.
func (g *Goship) plainHTTP(host string) bool {
	return slices.Contains(g.PlainHttpRegistry, host)
}

// readYAMLFiles reads the .yaml and .yml files of dir (not below it), by
// name, for manifests a user gives instead of the generated ones.
func readYAMLFiles(ctx context.Context, dir *dagger.Directory) (map[string][]byte, error) {
	names, err := dir.Entries(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading --manifests: %w", err)
	}
	files := map[string][]byte{}
	for _, n := range names {
		if ext := path.Ext(n); ext != ".yaml" && ext != ".yml" || strings.HasSuffix(n, "/") {
			continue
		}
		data, err := dir.File(n).Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading --manifests file %s: %w", n, err)
		}
		files[n] = []byte(data)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--manifests has no .yaml or .yml file at its top level")
	}
	return files, nil
}
