package fleet

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// runOutcome is how a failed run ended: the worst over the hosts, and
// Failed when any host is not back on what it had (the fleet is mixed,
// or a host's state is unknown).
func runOutcome(hosts []HostReport) outcome.Outcome {
	o := outcome.Unchanged
	for _, h := range hosts {
		o = outcome.Worst(o, h.Outcome)
		if h.Serving != h.Previous {
			o = outcome.Failed
		}
	}
	return o
}

// runError says which hosts failed and where every host ended.
func runError(failed, members []*member) error {
	e := &RunError{}
	for _, m := range failed {
		err := m.failure()
		if err == nil { // cannot happen: a host that did not move says why
			err = fmt.Errorf("its deploy did not finish")
		}
		e.Failed = append(e.Failed, &HostError{Host: m.name, Err: err})
	}
	for _, m := range members {
		switch {
		case m.rolledBack:
			e.RolledBack = append(e.RolledBack, m.name)
		case !m.ran && m.rep.Serving == m.rep.Previous:
			e.Untouched = append(e.Untouched, m.name)
		case m.rep.Serving != m.rep.Previous:
			e.Stuck = append(e.Stuck, m.name)
		}
	}
	return e
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
