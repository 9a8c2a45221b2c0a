package job

// CIEngine is a shared Dagger engine for CI runners, run on the target
// cluster as a DaemonSet (pipeline/ciengine). Empty fields take
// ciengine's defaults.
type CIEngine struct {
	// Image is the engine image, pinned by digest.
	Image string `json:"image,omitempty"`
	// Name names the DaemonSet and its node directories.
	Name string `json:"name,omitempty"`
	// Namespace the engine runs in (created when missing).
	Namespace string `json:"namespace,omitempty"`
	// EngineTOML is a file with the engine's engine.toml.
	EngineTOML string `json:"engineToml,omitempty"`
	// HostNetwork runs the engine on the node's network.
	HostNetwork bool `json:"hostNetwork,omitempty"`
	// GCMaxUsed, GCReserved and GCMinFree are engine.json's gc limits;
	// all empty: sized for the node's disk.
	GCMaxUsed  string `json:"gcMaxUsed,omitempty"`
	GCReserved string `json:"gcReserved,omitempty"`
	GCMinFree  string `json:"gcMinFree,omitempty"`
	// Timeout bounds the wait for every engine to be Ready.
	Timeout Duration `json:"timeout,omitempty"`
	// Remove deletes the DaemonSet and its ConfigMap; the state stays
	// on the nodes.
	Remove bool `json:"remove,omitempty"`
}
