package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"example.com/hello-service/internal/server"
)

// TestServeAndProbe runs the real server, probes it the way the container
// HEALTHCHECK does, then checks that SIGTERM-style cancellation shuts it down.
func TestServeAndProbe(t *testing.T) {
	p := freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, "127.0.0.1:"+p, server.Info{Version: "test"}) }()

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

// TestDefaultLinkVarsStampVersion builds the binary the way goship does by
// default (-X main.version/commit/date) and asks the running binary's
// /version: the stamp must reach it, not stay "dev".
func TestDefaultLinkVarsStampVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "hello")
	ldflags := "-X main.version=v9.8.7 -X main.commit=c0ffee1 -X main.date=2026-01-02T03:04:05Z"
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".") //nolint:gosec // fixed argv
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := freePort(t)
	run := exec.Command(bin) //nolint:gosec // the binary this test just built
	run.Env = append(os.Environ(), "PORT="+p)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Process.Kill(); _ = run.Wait() })

	var got server.Info
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := getJSON("http://127.0.0.1:"+p+"/version?format=json", &got)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /version: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := server.Info{Version: "v9.8.7", Commit: "c0ffee1", Date: "2026-01-02T03:04:05Z"}
	if got != want {
		t.Fatalf("/version = %+v, want %+v", got, want)
	}
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url) //nolint:gosec // the test's own local server
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	return json.NewDecoder(resp.Body).Decode(v)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	_ = ln.Close()
	return p
}
