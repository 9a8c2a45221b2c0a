package sshconn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// ExitError is a remote command that ran and failed.
type ExitError struct {
	Cmd    string // a short description, never the full script (it may be long)
	Status int
	Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: exit %d: %s", e.Cmd, e.Status, strings.TrimSpace(e.Stderr))
}

// Run runs script with the remote user's shell, feeding stdin (may be
// nil), and returns stdout. Secrets go in stdin, never in script: script
// becomes the remote process's argv. what names the step for errors.
func (c *Client) Run(ctx context.Context, what, script string, stdin io.Reader) (string, error) {
	var stdout bytes.Buffer
	err := c.Stream(ctx, what, script, stdin, &stdout)
	return stdout.String(), err
}

// Stream is Run with stdout going to w, for large outputs and inputs
// (docker load of an image tarball).
func (c *Client) Stream(ctx context.Context, what, script string, stdin io.Reader, w io.Writer) error {
	sess, err := c.OpenSession(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer func() { _ = sess.Close() }()
	var stderr bytes.Buffer
	// Output still arriving after a cancelled command returns must not
	// reach w or stderr: the caller owns them again by then.
	out := &stoppableWriter{w: w}
	errOut := &stoppableWriter{w: &limitedWriter{buf: &stderr, max: 64 << 10}}
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, out, errOut
	if err := sess.Start(script); err != nil {
		return fmt.Errorf("%s: start on %s: %w", what, c.Target(), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGTERM)
		_ = sess.Close()
		out.stop()
		errOut.stop()
		return fmt.Errorf("%s on %s: %w", what, c.Target(), ctx.Err())
	}
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		return &ExitError{Cmd: what, Status: exit.ExitStatus(), Stderr: stderr.String()}
	case err != nil:
		return fmt.Errorf("%s on %s: connection lost: %w", what, c.Target(), err)
	}
	return nil
}

// DialTCP opens a TCP connection from the server to addr (a direct-tcpip
// channel), so health checks need no curl on the server and no open port.
// It gives up with a *ChannelError when ctx ends or the connection does.
func (c *Client) DialTCP(ctx context.Context, addr string) (net.Conn, error) {
	return openChannel(ctx, c, "a tunnel to "+addr, func() (net.Conn, error) { return c.Dial("tcp", addr) })
}

// stoppableWriter passes writes to w until stop, then drops them.
type stoppableWriter struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

func (s *stoppableWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *stoppableWriter) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

type limitedWriter struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		if len(p) > room {
			l.buf.Write(p[:room])
		} else {
			l.buf.Write(p)
		}
	}
	return len(p), nil
}

var (
	hostnameRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
	userRE     = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)
)

// ValidateHost accepts a DNS name or an IP address; an IPv6 address may
// come in brackets ([::1]).
func ValidateHost(h string) error {
	if h == "" {
		return fmt.Errorf("ssh host is empty")
	}
	if strings.HasPrefix(h, "[") || strings.HasSuffix(h, "]") {
		inner := hostOnly(h)
		if ip := net.ParseIP(inner); ip == nil || !strings.Contains(inner, ":") {
			return fmt.Errorf("ssh host %q: brackets are only for IPv6 addresses, as in [::1]", h)
		}
		return nil
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 || !hostnameRE.MatchString(h) {
		return fmt.Errorf("ssh host %q is not a hostname or IP address", h)
	}
	return nil
}

// ValidateUser accepts a POSIX login name.
func ValidateUser(u string) error {
	if !userRE.MatchString(u) {
		return fmt.Errorf("ssh user %q is not a valid login name", u)
	}
	return nil
}

// ParseHostPort reads "host", "host:port" or "[v6]:port" (port defaults
// to 22).
func ParseHostPort(s string) (string, int, error) {
	host, portStr := strings.Trim(s, "[]"), "22"
	// A port follows the last colon of "host:port" and "[v6]:port" only: a
	// bare host has no colon, a bare IPv6 address several and no brackets.
	if hasPort := strings.HasPrefix(s, "[") && !strings.HasSuffix(s, "]") || strings.Count(s, ":") == 1; hasPort {
		var err error
		if host, portStr, err = net.SplitHostPort(s); err != nil {
			return "", 0, fmt.Errorf("ssh address %q: %w", s, err)
		}
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("ssh address %q: port must be 1-65535", s)
	}
	if err := ValidateHost(host); err != nil {
		return "", 0, err
	}
	return host, port, nil
}
