package sshconn

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// ErrConnectionLost means the connection ended (a cut link, a killed or
// restarted sshd, or keepalives left unanswered for KeepAliveWait) before
// the server answered.
var ErrConnectionLost = errors.New("connection lost")

// ChannelError is a session or a tunnel that was not opened on Target.
// Cause says why: ErrConnectionLost, the caller's context
// (context.DeadlineExceeded or context.Canceled), or the server's refusal
// (*ssh.OpenChannelError). errors.Is and errors.As reach it.
type ChannelError struct {
	Target  string // user@host:port
	Channel string // "a session", or "a tunnel to host:port"
	Cause   error
}

func (e *ChannelError) Error() string {
	msg := fmt.Sprintf("ssh %s: opening %s: %v", e.Target, e.Channel, e.Cause)
	switch {
	case errors.Is(e.Cause, ErrConnectionLost):
		return msg + " (check that the host is up and reachable, then run again)"
	case errors.Is(e.Cause, context.DeadlineExceeded):
		return msg + " (the server did not answer in time: the host or the link is stalled)"
	}
	return msg
}

func (e *ChannelError) Unwrap() error { return e.Cause }

// NewSession opens a session, waiting no longer than the connection
// lasts: when it ends, or stops answering keepalives, the open fails
// with a *ChannelError. It shadows ssh.Client's, whose open has no
// deadline and can wait forever when the connection ends as the request
// is sent. OpenSession bounds it by a context too.
func (c *Client) NewSession() (*ssh.Session, error) {
	return c.OpenSession(context.Background())
}

// OpenSession opens a session, giving up with a *ChannelError when ctx
// ends or the connection does, whichever comes first.
func (c *Client) OpenSession(ctx context.Context) (*ssh.Session, error) {
	return openChannel(ctx, c, "a session", c.Client.NewSession)
}

// openChannel runs open (a channel request) and waits for its answer no
// longer than ctx and the connection last. x/crypto's channel open waits
// for the server's reply with no deadline; if the connection's reader
// ends just before the request is registered, nothing ever wakes it (a
// fleet test hung 17 minutes there). A late answer is closed; a lost one
// leaves its goroutine waiting on the dead connection.
func openChannel[T io.Closer](ctx context.Context, c *Client, what string, open func() (T, error)) (T, error) {
	type result struct {
		ch  T
		err error
	}
	answer := make(chan result, 1)
	go func() {
		ch, err := open()
		answer <- result{ch, err}
	}()
	var zero T
	var cause error
	select {
	case r := <-answer:
		if r.err == nil {
			return r.ch, nil
		}
		cause = r.err
		if !errors.As(r.err, new(*ssh.OpenChannelError)) {
			cause = fmt.Errorf("%w: %w", ErrConnectionLost, r.err)
		}
		return zero, &ChannelError{Target: c.Target(), Channel: what, Cause: cause}
	case <-ctx.Done():
		cause = ctx.Err()
	case <-c.done:
		cause = ErrConnectionLost
	}
	go func() {
		if r := <-answer; r.err == nil {
			_ = r.ch.Close()
		}
	}()
	return zero, &ChannelError{Target: c.Target(), Channel: what, Cause: cause}
}
