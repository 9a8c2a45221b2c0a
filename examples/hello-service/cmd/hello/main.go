// Command hello is goship's sample service: a tiny HTTP server with a health
// endpoint, a version endpoint and graceful shutdown.
//
//	hello              serve on $PORT (default 8080)
//	hello health       exit 0 if GET /healthz on the local server answers 200
//
// HELLO_BROKEN=1 makes /healthz fail, to play a broken release;
// HELLO_FAIL_AFTER=2s makes /healthz fail from 2s after its first healthy
// answer, to play a release that degrades after its first good probe.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"example.com/hello-service/internal/server"
)

// Stamped at link time with goship's default link vars
// (-X main.version=… -X main.commit=… -X main.date=…); the defaults mark a
// developer build.
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		if err := probe(port()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	info := server.Info{Version: version, Commit: commit, Date: date}
	if err := serve(ctx, net.JoinHostPort("", port()), info); err != nil {
		log.Fatal(err)
	}
}

func port() string {
	if p := os.Getenv("PORT"); p != "" {
		return p
	}
	return "8080"
}

func serve(ctx context.Context, addr string, info server.Info) error {
	var failAfter time.Duration
	if v := os.Getenv("HELLO_FAIL_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("HELLO_FAIL_AFTER: %w", err)
		}
		failAfter = d
	}
	srv := &http.Server{
		Addr: addr,
		Handler: server.New(server.Options{
			Info:      info,
			Broken:    os.Getenv("HELLO_BROKEN") != "",
			FailAfter: failAfter,
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("hello %s (%s) listening on %s", info.Version, info.Commit, addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Drain in-flight requests so a rolling deploy drops none of them.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Print("stopped")
	return nil
}

// probe is the container HEALTHCHECK: the runtime image has no curl.
func probe(port string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: /healthz answered %s", resp.Status)
	}
	return nil
}
