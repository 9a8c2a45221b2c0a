// Package buildinfo holds the version stamped into the binary at link time
// with -ldflags "-X example.com/hello-service/internal/buildinfo.Version=…".
package buildinfo

// Set by the linker; the defaults mark a developer build.
var (
	Version = "dev"
	Commit  = "unknown"
	Date    = "unknown"
)
