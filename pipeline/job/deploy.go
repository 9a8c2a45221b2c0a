package job

// Deploy is one release to roll out to a target. Each setting is declared
// here once; zero means "not given", and the package that owns the
// setting applies its default (see the Default* constants of
// pipeline/project, pipeline/host and pipeline/kube).
type Deploy struct {
	// Image is repo@sha256:… (or, over SSH, empty: the image built here,
	// in Tarball).
	Image string `json:"image,omitempty"`
	// Transfer is how docker hosts get the image: registry or ssh.
	Transfer string `json:"transfer,omitempty"`
	// Tarball is the image tarball file an ssh transfer streams.
	Tarball string `json:"tarball,omitempty"`
	// Pull are the credentials the target pulls with, and verification
	// reads signatures with.
	Pull *Credentials `json:"pull,omitempty"`
	// Env is a file: the app's .env.
	Env string `json:"env,omitempty"`
	// Keep is how many releases to keep.
	Keep int `json:"keep,omitempty"`

	// Strategy is recreate, blue-green or rolling; empty: what the app
	// runs now (a new app: the target's default).
	Strategy string `json:"strategy,omitempty"`
	// Drain is how long the old release may finish in-flight requests
	// after a blue-green switch.
	Drain  Duration `json:"drain,omitempty"`
	Health Health   `json:"health"`
	// LockWait is how long to wait for another deploy's lock.
	LockWait Duration `json:"lockWait,omitempty"`

	Compose *Compose `json:"compose,omitempty"` // docker hosts only
	Kube    *Kube    `json:"kube,omitempty"`    // clusters only
}

// Health is the gate every release passes before it takes traffic.
type Health struct {
	// Path is the HTTP path the gate GETs ("-": the container's own
	// HEALTHCHECK only, docker hosts).
	Path string `json:"path,omitempty"`
	// Port is the host port a docker host's gate checks.
	Port int `json:"port,omitempty"`
	// Timeout is how long the release has to become healthy.
	Timeout Duration `json:"timeout,omitempty"`
	// Settle is how long it must then stay healthy.
	Settle Duration `json:"settle,omitempty"`
}

// Compose is what only a docker host's compose release takes.
type Compose struct {
	// File is the user's compose file (a path), empty: generated.
	File string `json:"file,omitempty"`
	// AllowOutsidePaths lets it mount host paths outside <app-dir>/shared.
	AllowOutsidePaths bool `json:"allowOutsidePaths,omitempty"`
	// Publish is the generated compose's port mapping.
	Publish string `json:"publish,omitempty"`
	// Proxy is blue-green's shared reverse proxy.
	Proxy *Proxy `json:"proxy,omitempty"`
	// Parallel and Canary are a fleet's rollout.
	Parallel int      `json:"parallel,omitempty"`
	Canary   Duration `json:"canary,omitempty"`
	// Pull and Up bound the image pull (or load) and each compose up.
	PullTimeout Duration `json:"pullTimeout,omitempty"`
	UpTimeout   Duration `json:"upTimeout,omitempty"`
	// Migrate is run once before the release takes traffic.
	Migrate        string   `json:"migrate,omitempty"`
	MigrateTimeout Duration `json:"migrateTimeout,omitempty"`
}

// Proxy is blue-green's shared Caddy on docker hosts.
type Proxy struct {
	Host          string   `json:"host,omitempty"`
	Image         string   `json:"image,omitempty"`
	Dir           string   `json:"dir,omitempty"`
	SwitchTimeout Duration `json:"switchTimeout,omitempty"`
	// TLSCert and TLSKey are files; TLSRedirectFrom a plain-HTTP port
	// (0: none).
	TLSCert         string `json:"tlsCert,omitempty"`
	TLSKey          string `json:"tlsKey,omitempty"`
	TLSRedirectFrom int    `json:"tlsRedirectFrom,omitempty"`
}

// Kube is what only a cluster release takes.
type Kube struct {
	// Manifests is a directory of the user's YAML (or a kustomization)
	// instead of the generated objects; Kustomize the overlay in it to
	// build (default: its root, when it has a kustomization).
	Manifests string `json:"manifests,omitempty"`
	Kustomize string `json:"kustomize,omitempty"`
	// Replicas; 0: the default (left to an HPA when one targets the app).
	Replicas int `json:"replicas,omitempty"`
	// Resources are requests and limits as Kubernetes quantities.
	CPURequest    string `json:"cpuRequest,omitempty"`
	CPULimit      string `json:"cpuLimit,omitempty"`
	MemoryRequest string `json:"memoryRequest,omitempty"`
	MemoryLimit   string `json:"memoryLimit,omitempty"`
	// Ingress, when set, routes a host name to the app.
	Ingress *Ingress `json:"ingress,omitempty"`
	// NoDisruptionBudget leaves out the PodDisruptionBudget made by
	// default for more than one replica.
	NoDisruptionBudget bool `json:"noDisruptionBudget,omitempty"`
}

// Ingress is a standard networking.k8s.io/v1 Ingress (ACK's ALB and nginx
// ingress take it).
type Ingress struct {
	Host      string `json:"host"`
	Class     string `json:"class,omitempty"`
	TLSSecret string `json:"tlsSecret,omitempty"`
	Path      string `json:"path,omitempty"`
}

// Rollback brings back a recorded release.
type Rollback struct {
	// To is the release; empty: the previous healthy one.
	To       string       `json:"to,omitempty"`
	Health   Health       `json:"health"`
	LockWait Duration     `json:"lockWait,omitempty"`
	Pull     *Credentials `json:"pull,omitempty"`
}

// ComposeSettings are d's docker-host settings, made when absent.
func (d *Deploy) ComposeSettings() *Compose {
	if d.Compose == nil {
		d.Compose = &Compose{}
	}
	return d.Compose
}

// KubeSettings are d's cluster settings, made when absent.
func (d *Deploy) KubeSettings() *Kube {
	if d.Kube == nil {
		d.Kube = &Kube{}
	}
	return d.Kube
}

// ProxySettings are d's blue-green proxy settings, made when absent.
func (d *Deploy) ProxySettings() *Proxy {
	c := d.ComposeSettings()
	if c.Proxy == nil {
		c.Proxy = &Proxy{}
	}
	return c.Proxy
}
