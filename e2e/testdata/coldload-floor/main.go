// Package main is the floor of a Dagger Go module's cold load (issue 31):
// one function, and no import but the generated bindings, so its load is
// the Go SDK's own codegen and compile on an empty engine.
package main

import "dagger/floor/internal/dagger"

// Floor is the smallest useful module.
type Floor struct{}

// Echo runs echo in a container.
func (m *Floor) Echo(msg string) *dagger.Container {
	return dag.Container().From("alpine:3").WithExec([]string{"echo", msg})
}
