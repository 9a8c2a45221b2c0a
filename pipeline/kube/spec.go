package kube

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/goship-dev/goship/pipeline/project"
)

// Defaults applied by Spec.withDefaults.
const (
	DefaultReplicas     = 2
	DefaultTimeout      = 5 * time.Minute
	DefaultSettle       = 10 * time.Second
	DefaultKeep         = 5
	DefaultPreStopSleep = 5 * time.Second
	DefaultDrain        = 10 * time.Second
	maxKeep             = 100
)

// Spec is one release to deploy. Validate checks it before anything
// touches the cluster.
type Spec struct {
	App        string // Deployment, Service and label name (a DNS-1035 label)
	Image      string // repo@sha256:…; tags are refused
	Port       int    // container port the app listens on (default 8080)
	HealthPath string // readiness and liveness httpGet path (default /healthz)
	Replicas   int32  // default 2

	// Resources: requests and limits as Kubernetes quantities ("100m",
	// "64Mi"); empty means unset.
	CPURequest, CPULimit, MemoryRequest, MemoryLimit string

	// Env is a .env file; it becomes a Secret the container reads with
	// envFrom. Empty means none.
	Env []byte
	// RegistryAuth, when set, becomes a kubernetes.io/dockerconfigjson pull
	// secret, and the image check uses it.
	RegistryAuth *RegistryAuth

	Version, Commit, Who string // recorded as labels and annotations

	Timeout      time.Duration // whole rollout gate (default 5m)
	Settle       time.Duration // each new pod Ready this long, no restarts (default 10s)
	Keep         int           // releases kept in the cluster (default 5)
	PreStopSleep time.Duration // a terminating pod keeps serving this long (default 5s)
	LockWait     time.Duration // wait this long for another deploy's lease; 0 refuses at once

	// Manifests, when set, replace the generated Deployment and Service:
	// path → file (several YAML documents allowed). goship pins the image
	// of the app's container (the container named App, or the only one of
	// the Deployment named App) by digest. With a kustomization at the root
	// (or in the directory Kustomize names) the manifests are built with
	// kustomize first, in memory.
	Manifests map[string][]byte
	// Kustomize is the directory of Manifests whose kustomization is built,
	// e.g. "overlays/prod"; default "." when Manifests has a
	// kustomization.yaml at its root.
	Kustomize string

	// Strategy is how a release goes live: Rolling (default) or BlueGreen.
	Strategy Strategy
	// Drain (blue-green): after the live Service switched, the old color
	// keeps running and the new one stays watched this long; a failure in
	// that window switches back at once. Then the old color is scaled to
	// zero (its Deployment is kept). Default 10s.
	Drain time.Duration

	// Ingress, when set, adds an Ingress routing its host to the app's
	// Service.
	Ingress *Ingress
	// NoDisruptionBudget: do not add a PodDisruptionBudget. By default
	// an app with more than one replica gets one (maxUnavailable 1), so a
	// node drain never takes all its pods at once.
	NoDisruptionBudget bool

	// Policy is what the caller verified about this release, for the
	// namespace's policy memory (see policy.go).
	Policy Policy

	// Log receives the run's progress, one line per change: pods ready
	// x/y, new warning events, restarts, the switch, the prune. Nil
	// discards.
	Log io.Writer

	// SkipImageCheck skips asking the registry whether the image exists
	// before applying (for registries only the cluster can reach).
	// PlainHTTP lets that check speak plain HTTP to the registry.
	SkipImageCheck, PlainHTTP bool
	// CheckAuth are credentials for the image check only: no pull secret is
	// made from them, for nodes that pull with their own credentials (ACK:
	// aliyun-acr-credential-helper). Without CheckAuth or RegistryAuth, a
	// registry that refuses anonymous reads skips the check with a line in
	// Log: goship never refuses a deploy because it could not look.
	CheckAuth *RegistryAuth
}

// RegistryAuth is a registry credential. As Spec.RegistryAuth it becomes
// an image pull secret in the namespace, which the pods use for every
// later pull too: a pod rescheduled to a new node a day later pulls with
// it. So it must stay valid. ACR's temporary token (username
// cr_temp_user, from GetAuthorizationToken) expires after one hour; a pull
// secret made from it breaks then, silently, until a pod needs a pull.
// Use the node's credential helper (aliyun-acr-credential-helper) with no
// RegistryAuth, or a long-lived ACR access credential or robot account.
type RegistryAuth struct {
	Host, Username, Password string
}

// Policy is what the caller verified about a release. Once a namespace
// took a Verified release, it remembers the policy (ConfigMap
// goship-policy), and a later deploy or rollback there without
// verification is refused with *PolicyError unless OptOut says why.
type Policy struct {
	// Verified: the caller checked every image the release runs (Images)
	// against Name, and all passed. Every image must then be pinned by
	// digest (*UnpinnedImageError otherwise).
	Verified bool
	// Name is the policy verified against, e.g. "cosign key
	// sha256:ab12…"; recorded in the namespace.
	Name string
	// OptOut, when not empty, is why this run deploys without
	// verification into a namespace that holds a policy. It is written to
	// Log and recorded in the release and the namespace's policy.
	OptOut string
}

// withDefaults fills every unset knob.
func (s Spec) withDefaults() Spec {
	if s.Port == 0 {
		s.Port = project.DefaultPort
	}
	if s.HealthPath == "" {
		s.HealthPath = project.DefaultHealthPath
	}
	if s.Replicas == 0 {
		s.Replicas = DefaultReplicas
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Settle == 0 {
		s.Settle = DefaultSettle
	}
	if s.Keep == 0 {
		s.Keep = DefaultKeep
	}
	if s.PreStopSleep == 0 {
		s.PreStopSleep = DefaultPreStopSleep
	}
	if s.Strategy == "" {
		s.Strategy = Rolling
	}
	if s.Drain == 0 {
		s.Drain = DefaultDrain
	}
	if s.Who == "" {
		s.Who = "unknown"
	}
	return s
}

// Validate rejects a spec that could not be deployed, naming the field to
// fix. It needs no cluster.
func (s Spec) Validate() error {
	s = s.withDefaults()
	if errs := validation.IsDNS1035Label(s.App); len(errs) > 0 {
		return fmt.Errorf("app name %q: %s (it names the Deployment and the Service)", s.App, strings.Join(errs, "; "))
	}
	if err := checkDigestRef(s.Image); err != nil {
		return err
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("port %d: want 1-65535", s.Port)
	}
	if !strings.HasPrefix(s.HealthPath, "/") {
		return fmt.Errorf("health path %q: must start with /", s.HealthPath)
	}
	if s.Replicas < 1 {
		return fmt.Errorf("replicas %d: want at least 1", s.Replicas)
	}
	for field, q := range map[string]string{"cpu request": s.CPURequest, "cpu limit": s.CPULimit, "memory request": s.MemoryRequest, "memory limit": s.MemoryLimit} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			return fmt.Errorf("%s %q: not a Kubernetes quantity (e.g. 250m, 128Mi): %w", field, q, err)
		}
	}
	if s.Timeout < 0 || s.Settle < 0 || s.PreStopSleep < 0 || s.LockWait < 0 || s.Drain < 0 {
		return fmt.Errorf("timeout, settle, pre-stop sleep, drain and lock wait must not be negative")
	}
	if _, err := strategyFor(s.Strategy); err != nil {
		return err
	}
	if err := s.Ingress.validate(); err != nil {
		return err
	}
	if s.Policy.Verified && s.Policy.Name == "" {
		return fmt.Errorf("policy: a verified release names the policy it passed (Policy.Name), which the namespace then remembers")
	}
	if s.Settle >= s.Timeout {
		return fmt.Errorf("settle %s must be shorter than the rollout timeout %s", s.Settle, s.Timeout)
	}
	if s.Keep < 1 || s.Keep > maxKeep {
		return fmt.Errorf("keep %d: want 1-%d releases", s.Keep, maxKeep)
	}
	if _, err := parseDotEnv(s.Env); err != nil {
		return err
	}
	for _, a := range []*RegistryAuth{s.RegistryAuth, s.CheckAuth} {
		if a != nil && (a.Host == "" || a.Username == "" || a.Password == "") {
			return fmt.Errorf("registry auth: host, username and password are all required")
		}
	}
	if len(s.Manifests) > 0 || s.Policy.Verified {
		objs, err := objects(s, "validate")
		if err != nil {
			return err
		}
		// Under a policy every image the release runs must be the one that
		// was verified: pinned by digest, sidecars and jobs included.
		if s.Policy.Verified {
			if err := checkPinned(imagesOf(objs)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDigestRef accepts only an image pinned by digest.
func checkDigestRef(image string) error {
	if image == "" {
		return fmt.Errorf("image is empty: pass repo@sha256:… (the digest reference publish prints)")
	}
	if !strings.Contains(image, "@sha256:") {
		return fmt.Errorf("image %q is not pinned by digest: deploy repo@sha256:… (the digest reference publish prints), never a tag", image)
	}
	if _, err := name.NewDigest(image); err != nil {
		return fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	return nil
}
