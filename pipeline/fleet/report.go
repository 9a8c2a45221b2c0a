package fleet

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goship-dev/goship/pipeline/notify"
)

// HostOutcome is what a run did to one host.
type HostOutcome string

// Host outcomes.
const (
	// Deployed: the host runs the new release.
	Deployed HostOutcome = "deployed"
	// RolledBack: the host moved in this run, then went back to the
	// release it had because another host failed.
	RolledBack HostOutcome = "rolled back"
	// Failed: the host's own deploy failed. Its deploy brought the
	// previous release back (Serving says what runs; Error why).
	Failed HostOutcome = "failed"
	// RollbackFailed: the host moved, and going back failed.
	RollbackFailed HostOutcome = "rollback failed"
	// Untouched: nothing changed on the host in this run.
	Untouched HostOutcome = "untouched"
)

// RunOutcome is how a whole run ended.
type RunOutcome string

// Run outcomes.
const (
	// RunSucceeded: every host runs the new release.
	RunSucceeded RunOutcome = "succeeded"
	// RunRolledBack: a host failed, and every host runs what it had.
	RunRolledBack RunOutcome = "rolled back"
	// RunFailed: stopped at preflight with nothing changed, or some host
	// is not back on what it had (see Hosts).
	RunFailed RunOutcome = "failed"
)

// HostReport is one host's line of a run.
type HostReport struct {
	Host     string // host:port
	Previous string // the release current before the run ("" for none)
	New      string // the release this run created there ("" if none)
	Outcome  HostOutcome
	// Serving is the release current when the run ended, as far as the
	// run knows ("" when unknown or none).
	Serving string
	Took    time.Duration // time spent changing this host
	Error   string
}

// Report is a whole run.
type Report struct {
	App, Image, Version, Who string
	Outcome                  RunOutcome
	Hosts                    []HostReport
	Took                     time.Duration
}

// Mixed reports whether the hosts ended on different releases' images:
// a host still on the new release beside hosts on the old one, or one in
// an unknown state.
func (r *Report) Mixed() bool {
	onNew, onOld := 0, 0
	for _, h := range r.Hosts {
		switch {
		case h.Serving != "" && h.Serving == h.New:
			onNew++
		case h.Serving == h.Previous:
			onOld++
		default:
			return true
		}
	}
	return onNew > 0 && onOld > 0
}

// FormatReport renders the run as a table, then each host's error.
func FormatReport(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fleet deploy of %s (%s) to %d hosts: %s in %s\n", r.App, orDash(r.Version), len(r.Hosts), r.Outcome, r.Took.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "HOST\tPREVIOUS\tNEW\tOUTCOME\tSERVING\tTIME")
	for _, h := range r.Hosts {
		took := "-"
		if h.Took > 0 {
			took = h.Took.Round(100 * time.Millisecond).String()
		}
		serving := h.Serving
		if serving == "" && h.Outcome != Untouched {
			serving = "?"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Host, orDash(h.Previous), orDash(h.New), h.Outcome, orDash(serving), took)
	}
	_ = tw.Flush()
	if r.Mixed() {
		b.WriteString("MIXED: the hosts do not all run the same release; see the errors and run status\n")
	}
	for _, h := range r.Hosts {
		if h.Error != "" {
			fmt.Fprintf(&b, "%s: %s\n", h.Host, strings.ReplaceAll(strings.TrimRight(h.Error, "\n"), "\n", "\n    "))
		}
	}
	return b.String()
}

// Event is the run as one notification.
func (r *Report) Event() notify.Event {
	ev := notify.Event{Kind: notify.Fleet, App: r.App, Version: r.Version, Image: r.Image, Who: r.Who, Duration: r.Took}
	var reasons []string
	for _, h := range r.Hosts {
		ev.Hosts = append(ev.Hosts, h.Host)
		if h.Error != "" {
			reasons = append(reasons, h.Host+": "+firstLine(h.Error))
		}
	}
	switch r.Outcome {
	case RunSucceeded:
		ev.Outcome = notify.Succeeded
	case RunRolledBack:
		ev.Outcome = notify.RolledBack
	default:
		ev.Outcome = notify.Failed
	}
	ev.Reason = strings.Join(reasons, "; ")
	return ev
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
