package kube

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// heartbeat is the longest the gate stays silent: with nothing new to
// say it repeats what it waits for.
const heartbeat = 15 * time.Second

// progress writes a deploy's lines to Spec.Log: one per change (pods
// ready x/y, a new event, a restart), never the same line twice in a row,
// and a "still waiting" line when nothing changed for heartbeat. A nil
// writer discards.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	last string
	at   time.Time
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w}
}

// printf writes one line.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line(fmt.Sprintf(format, args...))
}

// state writes s if it differs from the last state line, or repeats it
// after heartbeat of silence.
func (p *progress) state(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s == p.last && time.Since(p.at) < heartbeat {
		return
	}
	if s == p.last {
		p.line("still waiting: " + s)
		return
	}
	p.line(s)
	p.last = s
}

func (p *progress) line(s string) {
	_, _ = fmt.Fprintf(p.w, "%s %s\n", time.Now().Format("15:04:05"), s)
	p.at = time.Now()
}
