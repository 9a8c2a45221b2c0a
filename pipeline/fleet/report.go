package fleet

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// HostReport is one host's line of a run.
type HostReport struct {
	Host     string // host:port
	Previous string // the release current before the run ("" for none)
	New      string // the release this run created there ("" if none)
	// Outcome is how the run ended on this host: succeeded (it runs the
	// new release), unchanged (nothing moved there), rolled-back (it went
	// back to Previous, after its own gate failed or another host's did),
	// or failed (see Error). The run's Outcome is the worst of them.
	Outcome outcome.Outcome
	// Serving is the release current when the run ended, as far as the
	// run knows ("" when unknown or none).
	Serving string
	Image   string        // the image of the release a rollback went to
	Took    time.Duration // time spent changing this host
	Error   string
	// Schema, when set, says the release serving there is older than a
	// migration that ran: the database schema did not go back.
	Schema string
}

// Report is a whole run.
type Report struct {
	// Verb is what ran: notify.Deploy (the zero value) or notify.Rollback.
	Verb                     notify.EventKind
	App, Image, Version, Who string
	Outcome                  outcome.Outcome
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
	fmt.Fprintf(&b, "fleet deploy of %s (%s) to %d hosts: %s in %s\n", r.App, orDash(r.Version), len(r.Hosts), runLabel(r.Outcome), r.Took.Round(100*time.Millisecond))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "HOST\tPREVIOUS\tNEW\tOUTCOME\tSERVING\tTIME")
	for _, h := range r.Hosts {
		took := "-"
		if h.Took > 0 {
			took = h.Took.Round(100 * time.Millisecond).String()
		}
		serving := h.Serving
		if serving == "" && h.Outcome == outcome.Failed {
			serving = "?" // nothing healthy is known to serve
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
		if h.Schema != "" {
			fmt.Fprintf(&b, "%s: %s\n", h.Host, h.Schema)
		}
	}
	return b.String()
}

// Event is the run as one notification.
func (r *Report) Event() notify.Event {
	ev := notify.Event{Kind: r.kind(), App: r.App, Version: r.Version, Image: r.Image, Who: r.Who, Duration: r.Took}
	if len(r.Hosts) == 1 {
		h := r.Hosts[0]
		ev.Release, ev.Previous = h.New, h.Previous
		if h.Image != "" {
			ev.Image = h.Image
		}
	}
	var reasons []string
	for _, h := range r.Hosts {
		ev.Hosts = append(ev.Hosts, h.Host)
		if h.Error != "" {
			reasons = append(reasons, h.Host+": "+firstLine(h.Error))
		}
	}
	ev.Outcome = outcome.Worst(r.Outcome, outcome.Succeeded) // unset counts as failed
	ev.Reason = strings.Join(reasons, "; ")
	return ev
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// kind is the notification's kind: a rollback, one host's deploy, or a
// fleet's.
func (r *Report) kind() notify.EventKind {
	switch {
	case r.Verb == notify.Rollback:
		return notify.Rollback
	case len(r.Hosts) == 1:
		return notify.Deploy
	}
	return notify.Fleet
}

// runLabel says how a run ended, for the report's heading.
func runLabel(o outcome.Outcome) string {
	switch o {
	case outcome.RolledBack:
		return "rolled back"
	case outcome.Unchanged:
		return "failed; every host still serves what it had"
	case "":
		return string(outcome.Failed)
	}
	return string(o)
}
