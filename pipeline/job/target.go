package job

// Target is where a target verb acts: exactly one member is set. The
// runner chooses the target's implementation once, from which one.
type Target struct {
	Hosts   *Hosts   `json:"hosts,omitempty"`
	Cluster *Cluster `json:"cluster,omitempty"`
}

// Hosts are docker hosts reached over SSH (compose releases), one or a
// fleet in rollout order.
type Hosts struct {
	// Addrs are [user@]host[:port].
	Addrs []string `json:"addrs,omitempty"`
	// File is a file of more hosts, one per line (# comments).
	File string `json:"file,omitempty"`
	// Port and User apply to hosts that name none.
	Port int    `json:"port,omitempty"`
	User string `json:"user,omitempty"`
	// Key, KnownHosts and Passphrase are files.
	Key        string `json:"key"`
	KnownHosts string `json:"knownHosts"`
	Passphrase string `json:"passphrase,omitempty"`
	// Jump are bastions, [user@]host[:port], first hop first.
	Jump []string `json:"jump,omitempty"`
	// AppDir is the app's directory on the hosts (default /opt/<app>).
	AppDir string `json:"appDir,omitempty"`
	// Service is the compose service to deploy and check.
	Service string `json:"service,omitempty"`
}

// Cluster is a namespace of a Kubernetes cluster.
type Cluster struct {
	// Kubeconfig is a file.
	Kubeconfig string `json:"kubeconfig"`
	// Context of the kubeconfig; empty: its current context.
	Context string `json:"context,omitempty"`
	// Namespace; empty: the context's, else default.
	Namespace string `json:"namespace,omitempty"`
}
