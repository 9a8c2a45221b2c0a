package testworld

import (
	"crypto/tls"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// probeEvery is how often a Prober sends a request.
const probeEvery = 20 * time.Millisecond

// Prober GETs a URL every 20 ms, on a fresh connection each time like
// independent clients, and counts the answers that were not 200. It stops
// by itself after an hour at most.
type Prober struct {
	url, host string
	timeout   time.Duration
	tls       *tls.Config
	stop      chan struct{}
	halt      sync.Once
	done      sync.WaitGroup
	mu        sync.Mutex
	total     int
	failures  []ProbeFailure
	outages   int  // runs of failures with no success between them
	failing   bool // the last probe failed
}

// ProbeFailure is one request that did not answer 200.
type ProbeFailure struct {
	At     time.Time // when the answer (or the error) came
	Reason string    // the error or the status
}

// String reads "15:04:05.000 reason", as test logs show failures.
func (f ProbeFailure) String() string { return f.At.Format("15:04:05.000") + " " + f.Reason }

// ProbeOption changes how a Prober asks.
type ProbeOption func(*Prober)

// ProbeHost sends host as the Host header, for a proxy that routes by
// host name. Empty means the URL's host.
func ProbeHost(host string) ProbeOption { return func(p *Prober) { p.host = host } }

// ProbeTimeout counts a request that takes longer than d as failed
// (default 2 s).
func ProbeTimeout(d time.Duration) ProbeOption { return func(p *Prober) { p.timeout = d } }

// ProbeTLS makes an https:// URL trust what cfg trusts (e.g. the test
// world's CA).
func ProbeTLS(cfg *tls.Config) ProbeOption { return func(p *Prober) { p.tls = cfg } }

// StartProber starts probing url until Finish or Halt.
func StartProber(url string, opts ...ProbeOption) *Prober {
	p := &Prober{url: url, timeout: 2 * time.Second, stop: make(chan struct{})}
	for _, o := range opts {
		o(p)
	}
	client := &http.Client{Timeout: p.timeout, Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: p.tls}}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(probeEvery)
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
			p.record(p.get(client))
		}
	}()
	return p
}

// get sends one request and returns why it failed, or "".
func (p *Prober) get(client *http.Client) string {
	req, err := http.NewRequest(http.MethodGet, p.url, nil)
	if err != nil {
		return err.Error()
	}
	req.Host = p.host
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	return ""
}

func (p *Prober) record(reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	if reason != "" {
		p.failures = append(p.failures, ProbeFailure{At: time.Now(), Reason: reason})
		if !p.failing {
			p.outages++
		}
	}
	p.failing = reason != ""
}

// Halt keeps probing until at least atLeast probes ran (for a minute at
// most), then stops; it never fails a test. Halting twice is harmless.
func (p *Prober) Halt(atLeast int) {
	p.halt.Do(func() {
		for deadline := time.Now().Add(time.Minute); p.Total() < atLeast && time.Now().Before(deadline); {
			time.Sleep(probeEvery)
		}
		close(p.stop)
		p.done.Wait()
	})
}

// Finish halts p after at least atLeast probes and fails t on any failed
// request, or when fewer than atLeast probes ran within the minute.
func (p *Prober) Finish(t testing.TB, what string, atLeast int) {
	t.Helper()
	p.Halt(atLeast)
	total, failures := p.Total(), p.Failures()
	if total < atLeast {
		t.Errorf("%s: only %d requests ran within a minute, want at least %d", what, total, atLeast)
	}
	if len(failures) > 0 {
		t.Errorf("%s: %d of %d requests failed, first: %v", what, len(failures), total, failures[:min(len(failures), 5)])
		return
	}
	t.Logf("%s: 0 of %d requests failed", what, total)
}

// Total is how many probes ran so far.
func (p *Prober) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// Failures are the probes so far that did not answer 200, oldest first.
func (p *Prober) Failures() []ProbeFailure {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ProbeFailure(nil), p.failures...)
}

// Outages is how many separate runs of failed requests there were: one
// switch-over with a gap is 1, a gap and then a second one is 2.
func (p *Prober) Outages() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.outages
}

// Window is how long requests failed: from the first failure to the last,
// plus one probe interval (0 when none failed). It spans every failure, so
// two outages read as one long one.
func (p *Prober) Window() time.Duration {
	f := p.Failures()
	if len(f) == 0 {
		return 0
	}
	return f[len(f)-1].At.Sub(f[0].At) + probeEvery
}
