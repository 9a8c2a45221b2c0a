// Package server is the HTTP surface of hello-service: a health endpoint for
// deploy gates and a version endpoint that shows which release is live.
package server

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// Info is what /version reports.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
}

// Options configure the handler.
type Options struct {
	Info Info
	// Broken makes /healthz answer 503, to play a bad release in deploy tests.
	Broken bool
	// FailAfter, when set, makes /healthz answer 500 once that long has
	// passed since its first healthy answer: a release that degrades after
	// its first good probe, for deploy gate tests. The clock starts at that
	// answer, not at start, so a probe that comes late on a loaded machine
	// still sees the release healthy first.
	FailAfter time.Duration
}

// New returns the service's handler.
func New(opts Options) http.Handler {
	mux := http.NewServeMux()
	var firstHealthy atomic.Int64 // unix nanoseconds; 0 until /healthz first answers 200
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if opts.Broken {
			http.Error(w, "unhealthy: HELLO_BROKEN is set", http.StatusServiceUnavailable)
			return
		}
		if opts.FailAfter > 0 {
			now := time.Now()
			firstHealthy.CompareAndSwap(0, now.UnixNano())
			if now.Sub(time.Unix(0, firstHealthy.Load())) >= opts.FailAfter {
				http.Error(w, "unhealthy: HELLO_FAIL_AFTER has passed", http.StatusInternalServerError)
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(opts.Info)
			return
		}
		_, _ = w.Write([]byte(opts.Info.Version + "\n"))
	})
	// /slow?d=2s answers after d (at most 30s) with the version: deploy
	// tests keep it in flight across a switch to see it complete.
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 || d > 30*time.Second {
			http.Error(w, "d: want a duration up to 30s, e.g. 2s", http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(opts.Info.Version + "\n"))
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello from " + opts.Info.Version + "\n"))
	})
	return mux
}
