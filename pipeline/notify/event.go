package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// EventKind is what ran.
type EventKind string

// The runs that notify.
const (
	Deploy   EventKind = "deploy"
	Rollback EventKind = "rollback"
	// Fleet is a rolling deploy over several hosts, one message for all.
	Fleet EventKind = "fleet"
)

// Event is one deploy, rollback or fleet run, as reported.
type Event struct {
	Kind    EventKind
	App     string
	Version string // e.g. v1.4.2 or the image tag
	Image   string // image reference deployed (optional)
	// Release is the release now serving (or that was attempted),
	// Previous the one before it; both optional.
	Release  string
	Previous string
	Hosts    []string
	// Outcome is how the run ended: the typed value the pipeline returns,
	// never read back out of an error's text.
	Outcome  outcome.Outcome
	Who      string // who started the run, e.g. the GitHub actor
	Duration time.Duration
	Reason   string    // why it failed or rolled back; empty on success
	Time     time.Time // when it ended; Send fills in now when zero
}

// eventJSON fixes the generic webhook's field names: consumers parse
// them, so they do not follow Go renames.
type eventJSON struct {
	Kind       EventKind       `json:"kind"`
	App        string          `json:"app"`
	Version    string          `json:"version"`
	Image      string          `json:"image"`
	Release    string          `json:"release"`
	Previous   string          `json:"previous"`
	Hosts      []string        `json:"hosts"`
	Outcome    outcome.Outcome `json:"outcome"`
	Who        string          `json:"who"`
	DurationMS int64           `json:"duration_ms"`
	Reason     string          `json:"reason"`
	Time       string          `json:"time"` // RFC 3339, UTC
	// Text is the human message, so chat relays that only show one
	// field (Mattermost, Rocket.Chat, custom bots) have something to show.
	Text string `json:"text"`
}

// MarshalJSON writes the generic webhook payload.
func (ev Event) MarshalJSON() ([]byte, error) {
	hosts := ev.Hosts
	if hosts == nil {
		hosts = []string{}
	}
	return json.Marshal(eventJSON{
		Kind: ev.Kind, App: ev.App, Version: ev.Version, Image: ev.Image,
		Release: ev.Release, Previous: ev.Previous, Hosts: hosts,
		Outcome: ev.Outcome, Who: ev.Who, DurationMS: ev.Duration.Milliseconds(),
		Reason: ev.Reason, Time: ev.Time.UTC().Format(time.RFC3339),
		Text: renderText(ev, JSON),
	})
}

// Title is the one-line summary, e.g. "✅ api deploy succeeded: v1.4.2".
func (ev Event) Title() string {
	t := fmt.Sprintf("%s %s %s %s", emoji(ev.Outcome), orUnknown(clean(ev.App, 80)), ev.Kind.label(), label(ev.Outcome))
	if v := clean(ev.Version, 80); v != "" {
		t += ": " + v
	}
	return t
}

func (k EventKind) label() string {
	switch k {
	case Fleet:
		return "fleet deploy"
	case "":
		return "run"
	default:
		return string(k)
	}
}

func label(o outcome.Outcome) string {
	switch o {
	case outcome.RolledBack:
		return "failed, rolled back"
	case outcome.Unchanged:
		return "failed; the previous release still serves"
	case "":
		return "ended"
	default:
		return string(o)
	}
}

func emoji(o outcome.Outcome) string {
	switch o {
	case outcome.Succeeded:
		return "✅"
	case outcome.Failed:
		return "❌"
	case outcome.RolledBack, outcome.Unchanged:
		return "⚠️"
	default:
		return "ℹ️"
	}
}

// style is how one chat dialect marks up the shared message.
type style struct {
	heading func(string) string
	field   func(label, value string) string
	sep     string                // between lines
	escape  func(s string) string // applied to every value
}

// styleFor gives each kind's markup; JSON gets plain text.
func styleFor(k Kind) style {
	switch k {
	case DingTalk:
		// DingTalk's markdown needs a blank line to break lines; list
		// items then render one per line.
		return style{
			heading: func(s string) string { return "#### " + s },
			field:   func(l, v string) string { return "- **" + l + ":** " + v },
			sep:     "\n\n",
			escape:  escapeHTMLish,
		}
	case WeCom:
		// WeCom's markdown keeps single newlines; quotes render as a grey bar.
		return style{
			heading: func(s string) string { return "### " + s },
			field:   func(l, v string) string { return "> " + l + ": " + v },
			sep:     "\n",
			escape:  escapeHTMLish,
		}
	case Slack:
		return style{
			heading: func(s string) string { return "*" + s + "*" },
			field:   func(l, v string) string { return "*" + l + ":* " + v },
			sep:     "\n",
			escape:  escapeSlack,
		}
	default:
		return style{
			heading: func(s string) string { return s },
			field:   func(l, v string) string { return l + ": " + v },
			sep:     "\n",
			escape:  func(s string) string { return s },
		}
	}
}

// Limits keep a message short in a group chat and under WeCom's 4096-byte
// markdown limit.
const (
	maxValue   = 200
	maxReason  = 500
	maxHosts   = 12
	maxMessage = 4000
)

// renderText is the message body every chat format shares: what ran (the
// title holds app, version and outcome), where, by whom, how long, and why
// it failed. The image stays in the JSON payload: too long for a chat line. "goship" is always in it, so a
// DingTalk robot's keyword check can use it.
func renderText(ev Event, k Kind) string {
	st := styleFor(k)
	var lines []string
	lines = append(lines, st.heading(st.escape(ev.Title())))
	add := func(label, value string) {
		if value != "" {
			lines = append(lines, st.field(label, st.escape(value)))
		}
	}
	switch rel, prev := clean(ev.Release, maxValue), clean(ev.Previous, maxValue); {
	case rel != "" && prev != "":
		add("Release", rel+" (was "+prev+")")
	case rel != "":
		add("Release", rel)
	case prev != "":
		add("Previous release", prev)
	}
	add(hostsLabel(len(ev.Hosts)), hostList(ev.Hosts))
	add("By", clean(ev.Who, maxValue))
	if ev.Duration > 0 {
		add("Took", roundDuration(ev.Duration))
	}
	add("Reason", clean(ev.Reason, maxReason))
	lines = append(lines, "sent by goship")
	return truncate(strings.Join(lines, st.sep), maxMessage)
}

func hostsLabel(n int) string {
	if n == 1 {
		return "Host"
	}
	return fmt.Sprintf("Hosts (%d)", n)
}

func hostList(hosts []string) string {
	var out []string
	for i, h := range hosts {
		if i == maxHosts {
			out = append(out, fmt.Sprintf("and %d more", len(hosts)-maxHosts))
			break
		}
		out = append(out, clean(h, 100))
	}
	return strings.Join(out, ", ")
}

// roundDuration prints 850ms, 42.3s or 2m5s: enough for a chat line.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// clean makes free text one line (errors can span several) and bounds it.
func clean(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, max)
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func orUnknown(s string) string {
	if s == "" {
		return "(unnamed app)"
	}
	return s
}

// escapeHTMLish keeps DingTalk and WeCom from reading an error text's
// "<html>" or "<font>" as markup.
func escapeHTMLish(s string) string {
	return strings.NewReplacer("<", "‹", ">", "›").Replace(s)
}

// escapeSlack applies Slack's three mandatory escapes.
func escapeSlack(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
