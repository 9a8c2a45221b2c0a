package sshconn_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// remoteProcs lists the processes on the (local) server whose command
// line contains marker.
func remoteProcs(t *testing.T, marker string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(marker)) {
			continue
		}
		found = append(found, e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return found
}

// waitGone waits up to within for no process to carry marker, and fails
// t with the ones left.
func waitGone(t *testing.T, marker string, within time.Duration) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = remoteProcs(t, marker); len(left) == 0 {
			return
		}
	}
	t.Fatalf("still running on the server: %q", left)
}

// uniqueSleep is a sleep of about 10 minutes whose argv no other test
// shares: "sleep 6NN.NNNNNN".
func uniqueSleep(t *testing.T) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("6%02d.%06d", n.Int64()/1_000_000, n.Int64()%1_000_000)
}

func dialWorld(t *testing.T, srv *testworld.SSHServer) *sshconn.Client {
	t.Helper()
	cfg := config(srv)
	cfg.PrivateKey = srv.ClientKeyPEM
	c, err := sshconn.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A step past its deadline ends the process on the server, and every
// process it started, not only our side of the session; the error names
// the step and how long it waited.
func TestDeadlineEndsTheRemoteProcess(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	c := dialWorld(t, srv)
	secs := uniqueSleep(t)
	// A child in the background and one in the foreground, both stuck.
	script := fmt.Sprintf("sleep %s & sleep %s; echo never", secs, secs)

	seen := make(chan []string, 1)
	go func() {
		time.Sleep(time.Second)
		seen <- remoteProcs(t, secs)
	}()
	start := time.Now()
	out, err := c.RunDeadline(context.Background(), "pull image", 2*time.Second, script, nil)
	took := time.Since(start)

	if running := <-seen; len(running) < 2 {
		t.Fatalf("before the deadline the server ran %q, want the shell and its sleeps", running)
	}
	var de *sshconn.DeadlineError
	if !errors.As(err, &de) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v (%T), want a *DeadlineError wrapping context.DeadlineExceeded", err, err)
	}
	if de.Step != "pull image" || de.After < 2*time.Second || de.After > 3*time.Second || de.Limit != 2*time.Second || de.EndErr != nil {
		t.Fatalf("DeadlineError = %+v", de)
	}
	for _, want := range []string{"pull image on " + c.Target(), "stopped after 2", "its deadline is 2s", "the remote command was ended"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if took > 7*time.Second {
		t.Fatalf("RunDeadline returned after %s, want within a few seconds of its 2s deadline", took)
	}
	if out != "" {
		t.Fatalf("stdout = %q", out)
	}
	waitGone(t, secs, 3*time.Second)
	t.Logf("returned after %s; nothing left on the server", took.Round(time.Millisecond))

}

// A command that ignores SIGTERM is killed after the grace period. Plain
// Run, for comparison, only sends SIGTERM (which OpenSSH 9.2 delivers to
// the group) and closes the channel, so such a command stays.
func TestDeadlineKillsWhatIgnoresTerm(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	c := dialWorld(t, srv)
	secs := uniqueSleep(t)
	start := time.Now()
	_, err := c.RunDeadline(context.Background(), "compose up", time.Second, fmt.Sprintf("trap '' TERM; sleep %s & sleep %s", secs, secs), nil)
	took := time.Since(start)
	var de *sshconn.DeadlineError
	if !errors.As(err, &de) || de.EndErr != nil {
		t.Fatalf("err = %v", err)
	}
	if took > 9*time.Second {
		t.Fatalf("returned after %s, want about 1s + the 5s grace", took)
	}
	waitGone(t, secs, 2*time.Second)
	t.Logf("returned after %s; nothing left on the server", took.Round(time.Millisecond))

	other := uniqueSleep(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Run(ctx, "plain run", fmt.Sprintf("trap '' TERM; sleep %s", other), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v", err)
	}
	time.Sleep(time.Second)
	left := remoteProcs(t, other)
	t.Logf("after a plain Run past its deadline the server still runs: %q", left)
	for _, p := range left {
		pid, _, _ := strings.Cut(p, ":")
		_, _ = testworld.Run(context.Background(), nil, nil, "kill", "-KILL", pid)
	}
}

// Cancelling the context ends a command that blocks reading its stdin,
// and the error says it was cancelled.
func TestCancelEndsABlockedReader(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	c := dialWorld(t, srv)
	marker := uniqueSleep(t)
	stdin, feed := io.Pipe() // never written, never closed until the end
	defer func() { _ = feed.Close() }()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	_, err := c.RunDeadline(ctx, "migrate", 0, "cat - /nonexistent-"+marker+" >/dev/null", stdin)
	var de *sshconn.DeadlineError
	if !errors.As(err, &de) || !errors.Is(err, context.Canceled) || de.Limit != 0 || de.EndErr != nil {
		t.Fatalf("err = %v (%+v)", err, de)
	}
	if !strings.Contains(err.Error(), "migrate on ") || !strings.Contains(err.Error(), "(cancelled)") {
		t.Fatalf("err = %v", err)
	}
	waitGone(t, marker, 3*time.Second)
}

// Within its deadline, RunDeadline is Run: stdout, stdin, the exit status
// and stderr come back unchanged (the process id line is not part of it).
func TestDeadlineRunIsRunWhenInTime(t *testing.T) {
	t.Parallel()
	srv := testworld.StartSSHD(t)
	c := dialWorld(t, srv)
	out, err := c.RunDeadline(context.Background(), "echo", 10*time.Second, "cat; echo done", strings.NewReader("in\n"))
	if err != nil || out != "in\ndone\n" {
		t.Fatalf("RunDeadline = %q, %v", out, err)
	}
	_, err = c.RunDeadline(context.Background(), "fail", 10*time.Second, "echo first >&2; echo second >&2; exit 3", nil)
	var exit *sshconn.ExitError
	if !errors.As(err, &exit) || exit.Status != 3 || exit.Stderr != "first\nsecond\n" {
		t.Fatalf("err = %#v", err)
	}
}
