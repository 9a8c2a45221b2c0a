package fleet

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// runOutcome is how a failed run ended: the worst over the hosts, and
// Failed when any host is not back on what it had (the fleet is mixed).
func runOutcome(hosts []HostReport) outcome.Outcome {
	o := outcome.Unchanged
	for _, h := range hosts {
		o = outcome.Worst(o, h.Ended)
		if h.Outcome == RollbackFailed || h.Outcome == Deployed || (h.Outcome == Failed && h.Serving != h.Previous) {
			o = outcome.Failed
		}
	}
	return o
}

// fleetError says what failed and what the run did about it.
func fleetError(failure error, rep *Report) error {
	var rolled, untouched, stuck []string
	for _, h := range rep.Hosts {
		switch {
		case h.Outcome == RolledBack:
			rolled = append(rolled, h.Host)
		case h.Outcome == Untouched:
			untouched = append(untouched, h.Host)
		case h.Outcome == RollbackFailed, h.Outcome == Deployed, h.Serving != h.Previous:
			stuck = append(stuck, h.Host)
		}
	}
	msg := "fleet deploy stopped: " + failure.Error()
	if len(rolled) > 0 {
		msg += fmt.Sprintf("; rolled back to their previous releases: %s", strings.Join(rolled, ", "))
	}
	if len(untouched) > 0 {
		msg += fmt.Sprintf("; untouched: %s", strings.Join(untouched, ", "))
	}
	if len(stuck) > 0 {
		msg += fmt.Sprintf("; NOT BACK ON THEIR PREVIOUS RELEASE: %s (see the report)", strings.Join(stuck, ", "))
	}
	return errors.New(msg)
}

// forEach runs fn on every member, at most limit at a time.
func forEach(members []*member, limit int, fn func(*member)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		sem <- struct{}{}
		go func(m *member) {
			defer func() { <-sem; wg.Done() }()
			fn(m)
		}(m)
	}
	wg.Wait()
}

// logger writes progress lines from concurrent hosts without interleaving.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func newLogger(w io.Writer) *logger { return &logger{w: w} }

func (l *logger) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, format+"\n", args...)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
