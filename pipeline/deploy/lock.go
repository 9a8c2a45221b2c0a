package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrLocked is wrapped when another deploy of the same app holds the lock.
var ErrLocked = errors.New("another deploy holds the lock")

// LockOwner is who holds the deploy lock.
type LockOwner struct {
	Who   string    `json:"who"`
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// lock is held by a flock process tied to an SSH session: when the
// session ends, for any reason, the lock is released. A cut connection can
// therefore never leave a stale lock behind; only a hung deploy can hold
// one, and BreakLock ends that.
type lock struct {
	sess  *ssh.Session
	stdin io.WriteCloser
}

const exitLockHeld = 75

func (s *server) lock(ctx context.Context, who string) (*lock, error) {
	sess, err := s.c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// The child prints its pid, then holds the lock until stdin closes.
	script := fmt.Sprintf(`cd %s && exec flock -n -E %d .lock sh -c 'echo "$$"; exec cat >/dev/null'`, q(s.appDir), exitLockHeld)
	if err := sess.Start(script); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	pidLine := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		pidLine <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-pidLine:
		if line == "" { // flock exited: held, or failed
			err := sess.Wait()
			var exit *ssh.ExitError
			if errors.As(err, &exit) && exit.ExitStatus() == exitLockHeld {
				return nil, s.lockHeld(ctx)
			}
			return nil, fmt.Errorf("lock %s/.lock: %w", s.appDir, err)
		}
		var pid int
		_, _ = fmt.Sscan(line, &pid)
		owner, _ := json.Marshal(LockOwner{Who: who, PID: pid, Since: time.Now().UTC()})
		if _, err := s.run(ctx, "write lock owner", fmt.Sprintf("cat > %s/.lock.owner", q(s.appDir)), bytes.NewReader(owner)); err != nil {
			_ = stdin.Close()
			return nil, err
		}
		return &lock{sess: sess, stdin: stdin}, nil
	case <-ctx.Done():
		_ = sess.Close()
		return nil, ctx.Err()
	}
}

// lockOwner reads who last took the lock; ok is false when nothing usable
// is recorded.
func (s *server) lockOwner(ctx context.Context) (owner LockOwner, ok bool, err error) {
	out, err := s.run(ctx, "read lock owner", fmt.Sprintf("cat %s/.lock.owner 2>/dev/null || true", q(s.appDir)), nil)
	if err != nil {
		return LockOwner{}, false, err
	}
	if json.Unmarshal([]byte(out), &owner) != nil || owner.Who == "" || owner.PID <= 1 {
		return LockOwner{}, false, nil
	}
	return owner, true, nil
}

func (s *server) lockHeld(ctx context.Context) error {
	owner, ok, _ := s.lockOwner(ctx)
	if !ok {
		return fmt.Errorf("%w for %s (owner unknown)", ErrLocked, s.app)
	}
	return fmt.Errorf("%w for %s: %s since %s (%s ago, pid %d on the server); if that deploy is hung, break the lock explicitly",
		ErrLocked, s.app, owner.Who, owner.Since.Format(time.RFC3339), time.Since(owner.Since).Round(time.Second), owner.PID)
}

func (l *lock) release() {
	_ = l.stdin.Close()
	done := make(chan struct{})
	go func() { _ = l.sess.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	_ = l.sess.Close()
}

// breakLock ends the process holding the lock, if any.
func (s *server) breakLock(ctx context.Context) (LockOwner, error) {
	owner, ok, err := s.lockOwner(ctx)
	if err != nil {
		return LockOwner{}, err
	}
	if !ok {
		return LockOwner{}, fmt.Errorf("no lock owner recorded for %s", s.app)
	}
	script := fmt.Sprintf(`cd %s && if flock -n .lock true; then echo free; else kill %d 2>/dev/null; sleep 0.2; flock -w 5 .lock true && echo broken; fi`, q(s.appDir), owner.PID)
	res, err := s.run(ctx, "break lock", script, nil)
	if err != nil {
		return owner, fmt.Errorf("break lock: %w", err)
	}
	if strings.TrimSpace(res) == "free" {
		return owner, fmt.Errorf("the lock of %s is not held", s.app)
	}
	return owner, nil
}
