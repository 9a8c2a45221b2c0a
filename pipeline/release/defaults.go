package release

// Defaults of the run context, declared once for the pipeline and the
// module's flags.
const (
	// DefaultBranch gets the latest tag.
	DefaultBranch = "main"
	// NoCommit stands for the commit of a local run that names none.
	NoCommit = "0000000"
)
