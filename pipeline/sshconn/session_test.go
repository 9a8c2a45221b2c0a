package sshconn_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// wantChannelError checks that err is a *ChannelError naming c's host,
// caused by cause.
func wantChannelError(t *testing.T, c *sshconn.Client, err, cause error) {
	t.Helper()
	var ce *sshconn.ChannelError
	if !errors.As(err, &ce) || ce.Target != c.Target() || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want a *sshconn.ChannelError on %s caused by %v", err, c.Target(), cause)
	}
}

// within runs fn (what) and fails t if it has not returned after limit.
func within(t *testing.T, what string, limit time.Duration, fn func() error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("%s: still waiting after %s", what, limit)
		return 0, nil
	}
}

// A connection that stalls (its sshd frozen: the kernel takes the
// packets, nothing answers) holds no step past its caller's deadline:
// opening the session (or the tunnel) gives up at the deadline with a
// *ChannelError naming the host. Left to the keepalive (2 minutes
// unanswered by default), each would wait more than 2 minutes.
func TestOpeningOnAStalledConnectionEndsAtTheDeadline(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	c := dialWorld(t, srv)
	if _, err := c.Run(context.Background(), "before", "true", nil); err != nil {
		t.Fatal(err)
	}
	if srv.FreezeConnections(t) == 0 {
		t.Fatal("no sshd process serves the connection")
	}
	const bound = time.Second
	withBound := func(open func(context.Context) error) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			return open(ctx)
		}
	}
	for _, tt := range []struct {
		name string
		open func() error
	}{
		{"Run", withBound(func(ctx context.Context) error {
			_, err := c.Run(ctx, "docker ps", "true", nil)
			return err
		})},
		{"RunDeadline", func() error {
			_, err := c.RunDeadline(context.Background(), "docker ps", bound, "true", nil)
			return err
		}},
		{"OpenSession", withBound(func(ctx context.Context) error {
			_, err := c.OpenSession(ctx)
			return err
		})},
		{"DialTCP", withBound(func(ctx context.Context) error {
			_, err := c.DialTCP(ctx, "127.0.0.1:1")
			return err
		})},
	} {
		t.Run(tt.name, func(t *testing.T) {
			took, err := within(t, tt.name, bound+10*time.Second, tt.open)
			wantChannelError(t, c, err, context.DeadlineExceeded)
			if took < bound || took > bound+5*time.Second {
				t.Fatalf("returned after %s, want about %s", took, bound)
			}
			t.Logf("%s", err)
		})
	}
}

// With no deadline from the caller (the deploy lock opens its session
// with NewSession), the connection's keepalive is the bound: once the
// stalled server leaves one unanswered for KeepAliveWait, the open fails
// with ErrConnectionLost.
func TestOpeningOnAStalledConnectionEndsWithItsKeepalive(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	cfg := config(srv)
	cfg.PrivateKey = srv.ClientKeyPEM
	cfg.KeepAlive, cfg.KeepAliveWait = 200*time.Millisecond, time.Second
	c, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	// A first command: the connection's own sshd process is there to freeze.
	if _, err := c.Run(context.Background(), "before", "true", nil); err != nil {
		t.Fatal(err)
	}
	if srv.FreezeConnections(t) == 0 {
		t.Fatal("no sshd process serves the connection")
	}
	took, err := within(t, "NewSession", 15*time.Second, func() error {
		_, err := c.NewSession()
		return err
	})
	wantChannelError(t, c, err, sshconn.ErrConnectionLost)
	t.Logf("NewSession failed %s after the freeze: %v", took.Round(time.Millisecond), err)
}

// Sessions opened while the connection is cut (every sshd process
// serving it killed) all return, with the connection named as lost.
// x/crypto's open, sent just as the connection's reader ends, is neither
// answered nor dropped: without a bound of its own it waits forever (a
// fleet test hung 17 minutes in lastLogs there).
func TestOpeningAsTheConnectionIsCutReturns(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	for round := range 150 {
		c := dialWorld(t, srv)
		if _, err := c.Run(context.Background(), "before", "true", nil); err != nil {
			t.Fatal(err)
		}
		ended := make(chan struct{})
		go func() { _ = c.Wait(); close(ended) }()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					s, err := c.NewSession()
					if err != nil {
						errs <- err
						return
					}
					_ = s.Close()
				}
			}()
		}
		time.Sleep(time.Duration(round%10) * 5 * time.Millisecond)
		// Cut until the connection is gone: a process forked as the cut
		// runs would keep it up.
		_, _ = within(t, fmt.Sprintf("round %d: cutting the connection", round), 10*time.Second, func() error {
			for {
				srv.CutConnections(t)
				select {
				case <-ended:
					return nil
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
		_, _ = within(t, fmt.Sprintf("round %d: the opens in flight", round), 10*time.Second, func() error { wg.Wait(); return nil })
		close(errs)
		for err := range errs {
			wantChannelError(t, c, err, sshconn.ErrConnectionLost)
		}
	}
}
