package compose

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Result says what a deploy or rollback did. Deploy and Rollback return
// it with their error too: Outcome says what serves after the run.
type Result struct {
	Release  string
	Image    string
	Previous string
	Pruned   []string
	Took     time.Duration
	// Outcome is how the run ended (see pipeline/outcome).
	Outcome outcome.Outcome
	// Strategy names the strategy that ran, e.g. "blue-green" or
	// "recreate → blue-green" (empty when the run stopped before one was
	// chosen).
	Strategy string
	// Schema, when set, says plainly that what serves now is older than a
	// migration that ran: the database schema did not go back with it.
	Schema string
}

// unchanged is the result of a run that failed before it changed what
// serves.
func unchanged() *Result { return &Result{Outcome: outcome.Unchanged} }

// Deploy ships spec to the server behind c. On any failure after the new
// release started, the previous release is brought back and the error
// names the failed check with the new container's last log lines. The
// result is never nil: its Outcome says what serves now.
func Deploy(ctx context.Context, c *sshconn.Client, spec Spec) (*Result, error) {
	start := time.Now()
	p, err := Prepare(ctx, c, spec)
	if err != nil {
		return unchanged(), err
	}
	defer p.Release()
	return p.deploy(ctx, start)
}

// Releases lists the app's releases, newest first, marking the current one.
func Releases(ctx context.Context, c *sshconn.Client, app, appDir string) ([]host.Record, error) {
	a, err := host.Open(c, app, appDir, "")
	if err != nil {
		return nil, err
	}
	recs, _, err := a.History(ctx)
	return recs, err
}

// ErrNoRollbackTarget means there is no healthy release to go back to.
var ErrNoRollbackTarget = errors.New("no release to roll back to")

// FormatReleases renders releases as a table, current marked with "*".
func FormatReleases(recs []host.Record) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "\tRELEASE\tOUTCOME\tSTRATEGY\tVERSION\tIMAGE\tBY")
	for _, r := range recs {
		mark := ""
		if r.Current {
			mark = "*"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Name, r.Outcome, labelOf(r), r.Version, r.Image, r.Who)
	}
	_ = tw.Flush()
	return b.String()
}
