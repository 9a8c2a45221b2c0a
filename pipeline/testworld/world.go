// Package testworld starts the real servers goship's tests run against: a
// distribution registry with htpasswd auth (standing in for ACR), an OpenSSH
// server with a deploy user (standing in for an Aliyun ECS host), and the
// local dockerd behind it. Everything listens on ListenHost (127.0.0.1, or
// the Dagger engine's bridge address for the e2e suite) and is torn down
// by t.Cleanup. A missing component fails the test with the package to
// install; it is never skipped.
package testworld

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// need fails t unless bin is on PATH, naming the Debian package to install.
func need(t testing.TB, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("testworld: %s not found on PATH: install the Debian package %q (`.ci/run` does this)", bin, pkg)
	}
	return p
}

// ListenHost is the address the test world's servers listen on:
// $GOSHIP_WORLD_HOST, else 127.0.0.1. The e2e suite sets it to the Dagger
// engine's bridge address (10.87.0.1), the only address of this machine
// that module code and pipeline containers reach.
func ListenHost() string {
	if h := os.Getenv("GOSHIP_WORLD_HOST"); h != "" {
		return h
	}
	return "127.0.0.1"
}

// FreePort returns a TCP port on ListenHost that is free now and stays
// reserved for t until it ends. Tests hand these ports to servers they start
// later (docker's userland proxy, Caddy, sshd), so "free a moment ago" is not
// enough when several test binaries run at once: ports come from
// [portLow, portHigh), below the kernel's ephemeral range (so no outgoing
// connection or ":0" listener takes them), and each is held by an flock
// shared by every test process on the machine. The kernel drops the lock
// when the process exits, so a killed run leaves nothing reserved.
func FreePort(t testing.TB) int {
	t.Helper()
	return freePortOn(t, ListenHost())
}

// freePortOn is FreePort on host.
func freePortOn(t testing.TB, host string) int {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "goship-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("testworld: free port: %v", err)
	}
	span := portHigh - portLow
	start := rand.IntN(span)
	for i := 0; i < span; i++ {
		port := portLow + (start+i)%span
		lock, ok := reservePort(dir, port)
		if !ok {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil { // something outside the tests holds it
			_ = lock.Close()
			continue
		}
		_ = ln.Close()
		t.Cleanup(func() { _ = lock.Close() })
		return port
	}
	t.Fatalf("testworld: free port: every port in [%d, %d) is reserved or in use", portLow, portHigh)
	return 0
}

// The test port range: below Linux's default ephemeral range (32768-60999)
// and Kubernetes' NodePort range (30000-32767), which the cluster kit's
// kube-proxy answers on this machine.
const portLow, portHigh = 20000, 30000

// reservePort takes port's lock file without waiting; closing the file
// releases it.
func reservePort(dir string, port int) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, false
	}
	return f, true
}

// WaitTCP waits until addr accepts connections.
func WaitTCP(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testworld: %s not accepting connections after %s: %v", addr, within, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Dir makes a world-readable temp dir under /tmp. t.TempDir is mode 0700
// and owned by root, which the unprivileged deploy user cannot traverse.
func Dir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", "goship-"+prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// startDaemon runs cmd until the test ends, with its output in logFile,
// printed when the test fails.
func startDaemon(t testing.TB, name, logFile string, cmd *exec.Cmd) {
	t.Helper()
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("testworld: start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = f.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("%s log:\n%s", name, lastBytes(b, 4000))
			}
		}
	})
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// run executes argv and fails t on error, returning stdout.
func run(t testing.TB, stdin []byte, argv ...string) string {
	t.Helper()
	out, err := Run(context.Background(), stdin, nil, argv...)
	if err != nil {
		t.Fatalf("testworld: %v", err)
	}
	return out
}

// Run executes argv with extra env, returning stdout; the error carries
// stderr.
func Run(ctx context.Context, stdin []byte, env []string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}

// RepoRoot is the goship checkout the test runs in.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "dagger.json")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testworld: no dagger.json above the test's directory")
		}
		dir = parent
	}
}

// runIn runs argv in dir with extra env.
func runIn(dir string, env []string, argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// writeTemp writes data to a new temp file and returns its path.
func writeTemp(data []byte) (string, error) {
	f, err := os.CreateTemp("", "goship-")
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	_, err = f.Write(data)
	return f.Name(), err
}
