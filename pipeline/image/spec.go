// Package image describes goship's runtime images: the minimal non-root
// image a Go binary ships in (RuntimeSpec, Assemble), and the references of
// the tool images goship runs, with digest pins and mirror rewriting (Ref).
package image

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NonRootUID is the user the runtime image runs as. 65532 is the
// conventional "nonroot" id of distroless images, so volume permissions
// prepared for those work unchanged.
const NonRootUID = 65532

// OCI annotation keys goship sets as image labels.
const (
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelCreated  = "org.opencontainers.image.created"
	LabelSource   = "org.opencontainers.image.source"
)

// Healthcheck is a HEALTHCHECK that runs a command inside the container.
type Healthcheck struct {
	// Command is exec-form argv, e.g. ["/app", "health"].
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// RuntimeSpec is everything about the runtime image except its files.
type RuntimeSpec struct {
	// BinaryPath is where the binary lives in the image, e.g. /app.
	BinaryPath string
	// Args are default arguments (CMD) after the binary.
	Args        []string
	User        string
	Workdir     string
	Port        int
	Env         []string
	Labels      map[string]string
	Healthcheck *Healthcheck
}

// DefaultRuntimeSpec is the spec goship uses when the project says nothing
// more: the binary at /app, non-root, listening on port.
func DefaultRuntimeSpec(port int) RuntimeSpec {
	return RuntimeSpec{
		BinaryPath: "/app",
		User:       strconv.Itoa(NonRootUID) + ":" + strconv.Itoa(NonRootUID),
		Workdir:    "/",
		Port:       port,
	}
}

// Validate rejects a spec that would produce a broken or root image.
func (s RuntimeSpec) Validate() error {
	if !strings.HasPrefix(s.BinaryPath, "/") {
		return fmt.Errorf("runtime image: binary path %q must be absolute", s.BinaryPath)
	}
	if s.User == "" || s.User == "0" || s.User == "root" || strings.HasPrefix(s.User, "0:") || strings.HasPrefix(s.User, "root:") {
		return fmt.Errorf("runtime image: user %q: the runtime image must not run as root", s.User)
	}
	if s.Port < 0 || s.Port > 65535 {
		return fmt.Errorf("runtime image: port %d out of range 0-65535", s.Port)
	}
	for _, e := range s.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("runtime image: env %q: want KEY=VALUE", e)
		}
	}
	if h := s.Healthcheck; h != nil && len(h.Command) == 0 {
		return fmt.Errorf("runtime image: healthcheck has no command")
	}
	return nil
}

// OCILabels are the standard provenance labels for an image built from
// revision of source at version, created at created.
func OCILabels(revision, version, source string, created time.Time) map[string]string {
	labels := map[string]string{
		LabelRevision: revision,
		LabelVersion:  version,
		LabelCreated:  created.UTC().Format(time.RFC3339),
	}
	if source != "" {
		labels[LabelSource] = source
	}
	return labels
}
