// goship ships Go services: lint, race tests, a static binary in a minimal
// non-root image, a Trivy gate, a verified push to Alibaba Cloud Container
// Registry (ACR) and an SSH deploy with health check and automatic
// rollback. Every function runs the same on a laptop and in CI.
//
// This file holds the Goship object and its constructor; each verb lives in
// its own file and delegates its decisions to the engine-free pipeline/ and
// ci/ packages.
package main

import (
	"github.com/goship-dev/goship/internal/dagger"
)

// Goship is the prepared state every function starts from.
type Goship struct {
	// The Go project to ship.
	Source *dagger.Directory
}

// New prepares goship for a Go project.
func New(
	// The Go project to ship (a directory with go.mod).
	// +defaultPath="/"
	// +ignore=[".git", "bin", "dist", "reports", "node_modules", ".dagger", "**/*.test"]
	source *dagger.Directory,
) *Goship {
	return &Goship{Source: source}
}
