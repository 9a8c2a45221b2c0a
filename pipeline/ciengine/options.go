// Package ciengine runs a shared Dagger engine on a Kubernetes cluster
// (ACK or any other) the way Dagger documents it: a DaemonSet, one engine
// pod per node, privileged as the engine requires, its state
// (/var/lib/dagger) and its socket (/run/dagger) in directories on the
// node, so a restarted pod keeps its cache, and its GC limits sized for the
// node's disk in an engine.json (and an optional engine.toml) from a
// ConfigMap.
//
// CI runners reach an engine two ways:
//   - a runner pod on the same node mounts the node's socket directory
//     (Socket) and sets _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://…;
//   - a runner anywhere with kubectl access sets
//     _EXPERIMENTAL_DAGGER_RUNNER_HOST to RunnerHost(pod), a kube-pod://
//     address (kubectl must be on its PATH).
//
// Render turns typed Options into the objects; Cluster applies them by
// server-side apply and waits until every engine pod is Ready. It talks to
// the API server with client-go only and needs no Dagger engine.
package ciengine

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Options describe one shared engine (one DaemonSet).
type Options struct {
	// Name names the DaemonSet, its ConfigMap, its pods' label and the
	// node directories' defaults. Default "dagger-engine".
	Name string
	// Namespace is created when missing. Default "dagger".
	Namespace string
	// Image is the engine image, e.g. registry.dagger.io/engine:v0.21.0
	// (pin it by digest). Its dagger CLI answers the readiness probe.
	Image string
	// StateDir is the node directory that holds the engine's state
	// (/var/lib/dagger): compiled modules, pulled images, cached results
	// and cache volumes. Default /var/lib/dagger-<Name>. One engine at a
	// time can use it (the engine locks it).
	StateDir string
	// RunDir is the node directory of the engine's socket (/run/dagger),
	// for runner pods on the same node. Default /var/run/dagger-<Name>.
	RunDir string
	// GC bounds the engine's cache. Zero: Cluster.Apply sizes it for the
	// smallest node the engine runs on (GCForDisk).
	GC GC
	// EngineTOML is the engine's engine.toml (registry mirrors and the
	// like), optional.
	EngineTOML string
	// Env is the engine container's environment, in this order.
	Env []EnvVar
	// HostNetwork runs the engine in the node's network namespace, as
	// `docker run --network host` would; needed when what its containers
	// must reach (a registry mirror, a Go proxy) listens on the node.
	HostNetwork bool
	// HostMounts are more node directories in the engine container.
	HostMounts []HostMount
	// NodeSelector limits the nodes that run an engine.
	NodeSelector map[string]string
	// GracePeriod is how long a stopping engine may finish what is in
	// flight. Default 300s, as in Dagger's Helm chart.
	GracePeriod time.Duration
}

// GC is the engine.json "gc" section. Each value is bytes with a unit
// ("30GB") or a percentage of the disk ("10%").
type GC struct {
	MaxUsedSpace  string `json:"maxUsedSpace,omitempty"`
	ReservedSpace string `json:"reservedSpace,omitempty"`
	MinFreeSpace  string `json:"minFreeSpace,omitempty"`
}

// IsZero reports whether no limit is set.
func (g GC) IsZero() bool { return g == GC{} }

// EnvVar is one environment variable of the engine container.
type EnvVar struct{ Name, Value string }

// HostMount is a node directory in the engine container.
type HostMount struct {
	HostPath, MountPath string
	ReadOnly            bool
}

// Defaults.
const (
	DefaultName      = "dagger-engine"
	DefaultNamespace = "dagger"
	// DefaultTimeout is how long Apply waits for the engines to be Ready.
	DefaultTimeout     = 10 * time.Minute
	defaultGracePeriod = 300 * time.Second
	// ContainerName is the engine's container in its pod (kube-pod://
	// addresses name it).
	ContainerName = "dagger-engine"
	// socketDir is where the engine listens (its default address,
	// unix:///run/dagger/engine.sock).
	socketDir = "/run/dagger"
)

// GCForDisk sizes the engine's cache for a node disk of capacity bytes:
// the cache may use half of it; the engine collects before free space
// falls under 15%, so before the kubelet's default eviction thresholds
// (nodefs 10%, imagefs 15%) evict pods; and it keeps 10% (at most 10 GiB,
// Dagger's own default bound) whatever the free space, so a full disk does
// not empty a warm engine. Absolute values, not percentages: the same
// percentage of a shared disk that is already nearly full had the engine
// prune its whole cache after every session.
func GCForDisk(capacity int64) GC {
	const gib = int64(1) << 30
	reserved := min(capacity/10, 10*gib)
	return GC{
		MaxUsedSpace:  giB(capacity / 2),
		ReservedSpace: giB(reserved),
		MinFreeSpace:  giB(capacity * 15 / 100),
	}
}

// giB writes n bytes as whole GiB (rounded down, at least 1).
func giB(n int64) string { return fmt.Sprintf("%dGiB", max(n>>30, 1)) }

// OptionError is an option that cannot be rendered.
type OptionError struct {
	Field, Value, Want string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("ci engine: %s %q: %s", e.Field, e.Value, e.Want)
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	spaceRE   = regexp.MustCompile(`^([0-9]+%|[0-9][0-9.]*([kKmMgGtTpP][iI]?)?[bB]?)$`)
)

// withDefaults fills the defaults and checks every option.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.StateDir == "" {
		o.StateDir = "/var/lib/dagger-" + o.Name
	}
	if o.RunDir == "" {
		o.RunDir = "/var/run/dagger-" + o.Name
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = defaultGracePeriod
	}
	if !nameRE.MatchString(o.Name) {
		return o, &OptionError{"name", o.Name, "use lower-case letters, digits and '-', at most 52 characters"}
	}
	if !nameRE.MatchString(o.Namespace) {
		return o, &OptionError{"namespace", o.Namespace, "use lower-case letters, digits and '-'"}
	}
	if strings.TrimSpace(o.Image) == "" {
		return o, &OptionError{"image", o.Image, "name the engine image, e.g. registry.dagger.io/engine:v0.21.0 pinned by digest"}
	}
	dirs := map[string]string{"state dir": o.StateDir, "run dir": o.RunDir}
	for i, m := range o.HostMounts {
		dirs[fmt.Sprintf("host mount %d", i+1)] = m.HostPath
		if !path.IsAbs(m.MountPath) {
			return o, &OptionError{fmt.Sprintf("host mount %d's path in the container", i+1), m.MountPath, "use an absolute path"}
		}
	}
	for _, f := range sortedKeys(dirs) {
		if d := dirs[f]; !path.IsAbs(d) || path.Clean(d) == "/" {
			return o, &OptionError{f, d, "use an absolute node directory other than /"}
		}
	}
	if path.Clean(o.StateDir) == path.Clean(o.RunDir) {
		return o, &OptionError{"run dir", o.RunDir, "use a directory other than the state dir"}
	}
	for _, s := range []struct{ f, v string }{{"gc maxUsedSpace", o.GC.MaxUsedSpace}, {"gc reservedSpace", o.GC.ReservedSpace}, {"gc minFreeSpace", o.GC.MinFreeSpace}} {
		if s.v != "" && !spaceRE.MatchString(s.v) {
			return o, &OptionError{s.f, s.v, `use bytes with a unit ("30GB", "512MiB") or a percentage ("10%")`}
		}
	}
	for _, e := range o.Env {
		if !envNameRE.MatchString(e.Name) {
			return o, &OptionError{"env", e.Name, "use letters, digits and '_'"}
		}
	}
	if o.GracePeriod < 0 {
		return o, &OptionError{"grace period", o.GracePeriod.String(), "use a duration of zero or more"}
	}
	return o, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ErrNoNodes is returned when no node can run the engine.
var ErrNoNodes = errors.New("ci engine: no node matches the node selector")
