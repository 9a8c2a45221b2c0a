package testworld

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Prober GETs a URL every 20 ms, on a fresh connection each time like
// independent clients, and counts the answers that were not 200. It stops
// by itself after an hour at most.
type Prober struct {
	stop     chan struct{}
	done     sync.WaitGroup
	mu       sync.Mutex
	total    int
	failures []string
}

// StartProber starts probing url until Finish.
func StartProber(url string) *Prober {
	p := &Prober{stop: make(chan struct{})}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(time.Hour)
		for {
			select {
			case <-p.stop:
				return
			case <-deadline:
				return
			case <-tick.C:
			}
			msg := ""
			if resp, err := client.Get(url); err != nil {
				msg = err.Error()
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					msg = resp.Status
				}
			}
			p.mu.Lock()
			p.total++
			if msg != "" {
				p.failures = append(p.failures, time.Now().Format("15:04:05.000")+" "+msg)
			}
			p.mu.Unlock()
		}
	}()
	return p
}

// Finish keeps probing until at least atLeast probes ran, stops, and
// fails t on any failed request.
func (p *Prober) Finish(t testing.TB, what string, atLeast int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p.mu.Lock()
		n := p.total
		p.mu.Unlock()
		if n >= atLeast || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(p.stop)
	p.done.Wait()
	if len(p.failures) > 0 {
		t.Errorf("%s: %d of %d requests failed, first: %v", what, len(p.failures), p.total, p.failures[:min(len(p.failures), 5)])
		return
	}
	t.Logf("%s: 0 of %d requests failed", what, p.total)
}
