package testworld

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A server that answers 200 only to host b.test, and slowly on /slow.
func hostServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(200 * time.Millisecond)
		}
		if r.Host != "b.test" {
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProberSendsTheHostItIsGiven(t *testing.T) {
	srv := hostServer(t)
	p := StartProber(srv.URL, ProbeHost("b.test"))
	p.Finish(t, "with host b.test", 10)

	p = StartProber(srv.URL)
	p.Halt(10)
	p.Halt(10) // a second halt is harmless
	failures := p.Failures()
	if p.Total() < 10 || len(failures) != p.Total() {
		t.Fatalf("without the host: %d of %d requests failed, want all of at least 10", len(failures), p.Total())
	}
	if !strings.HasSuffix(failures[0].String(), " 404 Not Found") {
		t.Errorf("failure reads %q, want the time and the status", failures[0])
	}
	first, last := failures[0].At, failures[len(failures)-1].At
	if w := p.Window(); w != last.Sub(first)+20*time.Millisecond || w < 9*20*time.Millisecond {
		t.Errorf("window %s for failures from %s to %s", w, first.Format("15:04:05.000"), last.Format("15:04:05.000"))
	}
}

func TestProberCountsAnswersSlowerThanItsTimeoutAsFailed(t *testing.T) {
	srv := hostServer(t)
	slow := StartProber(srv.URL+"/slow", ProbeHost("b.test"), ProbeTimeout(50*time.Millisecond))
	patient := StartProber(srv.URL+"/slow", ProbeHost("b.test"))
	slow.Halt(3)
	patient.Finish(t, "a 200 ms answer with the default timeout", 3)
	if n := len(slow.Failures()); n == 0 || n != slow.Total() {
		t.Errorf("with a 50 ms timeout %d of %d 200 ms answers failed, want all", n, slow.Total())
	}
	if n, w := len(patient.Failures()), patient.Window(); n != 0 || w != 0 {
		t.Errorf("%d failures, window %s, want none and 0", n, w)
	}
}

// A server that fails between two windows of answers: each run of
// failures is one outage.
func TestProberCountsSeparateOutages(t *testing.T) {
	var mu sync.Mutex
	down := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	t.Cleanup(srv.Close)
	set := func(d bool) {
		mu.Lock()
		down = d
		mu.Unlock()
		time.Sleep(10 * probeEvery)
	}
	p := StartProber(srv.URL)
	set(false)
	if n := p.Outages(); n != 0 {
		t.Fatalf("%d outages while every answer was 200", n)
	}
	set(true)
	set(false)
	if n := p.Outages(); n != 1 {
		t.Fatalf("%d outages after one failing stretch, want 1", n)
	}
	set(true)
	set(false)
	p.Halt(1)
	if n := p.Outages(); n != 2 {
		t.Errorf("%d outages after two failing stretches, want 2", n)
	}
}
