package job

// Logs reads the serving release's container logs.
type Logs struct {
	Since     string   `json:"since,omitempty"`
	Tail      int      `json:"tail"`
	Follow    bool     `json:"follow,omitempty"`
	FollowFor Duration `json:"followFor,omitempty"`
	Grep      string   `json:"grep,omitempty"`
}

// Exec runs a one-off command of the serving release.
type Exec struct {
	Cmd       string   `json:"cmd"`
	Timeout   Duration `json:"timeout,omitempty"`
	EveryHost bool     `json:"everyHost,omitempty"`
}

// Maintenance turns the blue-green proxy's maintenance page on (a page)
// or off (nil).
type Maintenance struct {
	On         bool     `json:"on"`
	Message    string   `json:"message,omitempty"`
	RetryAfter Duration `json:"retryAfter,omitempty"`
}

// Publish pushes the image layout built by the module and, with a key,
// signs it.
type Publish struct {
	// Layout is the OCI image tarball (every platform) to push.
	Layout     string       `json:"layout"`
	Repository string       `json:"repository"` // host/namespace/name
	Tags       []string     `json:"tags"`
	Push       *Credentials `json:"push"`
	// Sign, when set, signs the pushed digest with its evidence.
	Sign *Sign `json:"sign,omitempty"`
}

// Sign is the key and the evidence a release is signed with.
type Sign struct {
	// Key and Password are files.
	Key      string `json:"key"`
	Password string `json:"password,omitempty"`
	// WorkflowRun is the CI run the provenance names.
	WorkflowRun string `json:"workflowRun,omitempty"`
	// Evidence is a directory of what ci found, as the module laid it
	// out: steps.json (every step's outcome), and per platform the SBOM
	// and the Trivy report (see pipeline/sign).
	Evidence string `json:"evidence"`
}

// Verify checks an image against a key or the repository's policy.
type Verify struct {
	Image string `json:"image"`
	// Key is a public key file; empty: the policy's keys.
	Key  string       `json:"key,omitempty"`
	Pull *Credentials `json:"pull,omitempty"`
}

// Mirror copies goship's default images into a registry prefix.
type Mirror struct {
	To   string       `json:"to"`
	Push *Credentials `json:"push"`
}
