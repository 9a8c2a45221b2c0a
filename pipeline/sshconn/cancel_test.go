package sshconn_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// A cancelled Run returns at once, and the output the remote command
// still sends afterwards never reaches the caller's buffer: Run hands that
// buffer back, so a late write would race with the caller (go test -race
// reported it when a fleet cancelled a deploy mid-command).
func TestCancelledRunStopsWritingOutput(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	cfg := config(srv)
	cfg.PrivateKey = srv.ClientKeyPEM
	c, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		out, err := c.Run(ctx, "chatter", "while :; do echo out; echo err >&2; done", nil)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the deadline", err)
		}
		_ = len(out)
	}
}
