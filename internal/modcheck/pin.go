package modcheck

// The module's real bindings are generated from the engine, so no package
// in the tree imports the SDK and `go mod tidy` would drop it. This import
// keeps dagger.io/dagger in go.mod at the engine's version: the version
// modcheck type-checks against.
import _ "dagger.io/dagger"
