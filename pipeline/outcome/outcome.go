// Package outcome names how a deploy or a rollback ended, as a typed value
// that every target (SSH hosts, fleets, a Kubernetes cluster) returns
// beside its error and logs. Callers such as notifications and reports
// switch on it; they never read an outcome back out of an error's text.
// It also names how one release fared at its gate (Release), as each
// target's records keep it.
package outcome

// Outcome is how one deploy or rollback ended.
type Outcome string

// The outcomes, from best to worst.
const (
	// Succeeded: the requested release is live and passed its gate.
	Succeeded Outcome = "succeeded"
	// Unchanged: the run failed before it moved any traffic (bad input,
	// preflight, lock, transfer, or a blue-green color that failed its gate
	// beside the live one); the release that served before still serves.
	Unchanged Outcome = "unchanged"
	// RolledBack: the new release went live or replaced the old one, failed
	// its gate, and the previous release was brought back and is healthy.
	RolledBack Outcome = "rolled-back"
	// Failed: the run failed and nothing healthy is known to serve: the
	// rollback failed too, there was no previous release, or the state
	// could not be read. Someone has to look.
	Failed Outcome = "failed"
)

// Serving reports whether a healthy release serves after the run.
func (o Outcome) Serving() bool { return o == Succeeded || o == Unchanged || o == RolledBack }

// Worst is the worse of two outcomes, for a fleet's overall outcome. An
// unset or unknown outcome counts as Failed, never as a success.
func Worst(a, b Outcome) Outcome {
	if rank(b) > rank(a) {
		a = b
	}
	if rank(a) == rank(Failed) {
		return Failed
	}
	return a
}

func rank(o Outcome) int {
	switch o {
	case Succeeded:
		return 0
	case Unchanged:
		return 1
	case RolledBack:
		return 2
	default:
		return 3
	}
}

// Release is how one release fared at its health gate, as a target's
// record of it says (release.json on a host, the release record in a
// cluster). A run's Outcome says what serves; a Release says whether
// this release ever did.
type Release string

// The states of a release.
const (
	// ReleasePending: its deploy has not ended (or was cut off; the next
	// run on the target marks it failed).
	ReleasePending Release = "pending"
	// ReleaseHealthy: it passed its gate and went live; a rollback may
	// go back to it.
	ReleaseHealthy Release = "healthy"
	// ReleaseFailed: it failed its gate, or its deploy stopped, and never
	// went live.
	ReleaseFailed Release = "failed"
)
