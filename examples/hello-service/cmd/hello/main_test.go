package main

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestServeAndProbe runs the real server, probes it the way the container
// HEALTHCHECK does, then checks that SIGTERM-style cancellation shuts it down.
func TestServeAndProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:"+p) }()

	deadline := time.Now().Add(5 * time.Second)
	for probe(p) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("server never became healthy: %v", probe(p))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not shut down")
	}
	if probe(p) == nil {
		t.Fatal("probe succeeded after shutdown")
	}
}
