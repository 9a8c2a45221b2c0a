package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// ErrLocked is wrapped when another deploy of the same app holds the lock.
var ErrLocked = errors.New("another deploy holds the lock")

// LockOwner is who holds the deploy lock.
type LockOwner struct {
	Who string `json:"who"`
	// PID is the flock process on the server that holds the lock.
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// Held is the deploy lock, held by a flock process tied to an SSH session: when the
// session ends, for any reason, the lock is released. A cut connection can
// therefore never leave a stale lock behind; only a hung deploy can hold
// one, and BreakLock ends that.
type Held struct {
	sess  *ssh.Session
	stdin io.WriteCloser
}

const exitLockHeld = 75

// lockScript takes the lock and, under it, in the same session, records
// the owner it reads from stdin (so no other deploy can ever see a
// half-written or stale owner next to a held lock), then holds the lock
// until stdin closes and clears the owner before letting go. flock -o
// keeps the lock in the flock process alone, so ending that one process
// releases it; the child only removes an owner file that is still its own.
const lockScript = `cd %s && exec flock -n -o -E %d .lock sh -c '
echo "$PPID"
IFS= read -r owner || exit 1
printf "%%s\n" "$owner" > .lock.owner.tmp && mv -f .lock.owner.tmp .lock.owner || exit 1
echo locked
cat >/dev/null
[ "$(cat .lock.owner 2>/dev/null)" = "$owner" ] && rm -f .lock.owner
true'`

// Lock takes the app's deploy lock for who, or fails at once with
// ErrLocked naming the deploy that holds it.
func (s *App) Lock(ctx context.Context, who string) (*Held, error) {
	sess, err := s.c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	if err := sess.Start(fmt.Sprintf(lockScript, Q(s.appDir), exitLockHeld)); err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	lines := make(chan string, 2)
	go func() {
		r := bufio.NewReader(stdout)
		for i := 0; i < 2; i++ {
			line, _ := r.ReadString('\n')
			lines <- strings.TrimSpace(line)
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	next := func() (string, error) {
		select {
		case line := <-lines:
			return line, nil
		case <-ctx.Done():
			_ = sess.Close()
			return "", ctx.Err()
		}
	}
	line, err := next()
	if err != nil {
		return nil, err
	}
	if line == "" { // flock exited: held, or failed
		err := sess.Wait()
		var exit *ssh.ExitError
		if errors.As(err, &exit) && exit.ExitStatus() == exitLockHeld {
			return nil, s.lockHeld(ctx)
		}
		return nil, fmt.Errorf("lock %s/.lock: %w", s.appDir, err)
	}
	pid, err := strconv.Atoi(line)
	if err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("lock %s/.lock: unexpected %q", s.appDir, line)
	}
	owner, _ := json.Marshal(LockOwner{Who: who, PID: pid, Since: time.Now().UTC()})
	if _, err := stdin.Write(append(owner, '\n')); err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("lock: record owner: %w", err)
	}
	if line, err = next(); err != nil {
		return nil, err
	}
	if line != "locked" {
		_ = sess.Close()
		return nil, fmt.Errorf("lock: could not record the owner in %s/.lock.owner", s.appDir)
	}
	return &Held{sess: sess, stdin: stdin}, nil
}

// Release lets go of the lock.
func (l *Held) Release() {
	_ = l.stdin.Close()
	done := make(chan struct{})
	go func() { _ = l.sess.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	_ = l.sess.Close()
}

// lockState is what the server says about the lock: the pids holding a
// flock on .lock (from /proc/locks) and the recorded owner.
type lockState struct {
	file     string // maj:min:inode of .lock as /proc/locks writes it
	holders  []int
	owner    LockOwner
	hasOwner bool
}

// heldByOwner reports whether the recorded owner is the one holding it.
func (st lockState) heldByOwner() bool {
	return st.hasOwner && slices.Contains(st.holders, st.owner.PID)
}

func (s *App) lockState(ctx context.Context) (lockState, error) {
	script := fmt.Sprintf(`cd %s || exit 1
stat -c '%%d %%i' .lock 2>/dev/null || echo none
echo ---
cat /proc/locks
echo ---
cat .lock.owner 2>/dev/null; true`, Q(s.appDir))
	out, err := s.Run(ctx, "read lock state", script, nil)
	if err != nil {
		return lockState{}, err
	}
	parts := strings.SplitN(out, "---\n", 3)
	if len(parts) != 3 {
		return lockState{}, fmt.Errorf("read lock state: unexpected output")
	}
	var st lockState
	var dev uint64
	var ino uint64
	if _, err := fmt.Sscan(parts[0], &dev, &ino); err == nil {
		st.file = fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), ino)
		st.holders = flockHolders(parts[1], st.file)
	}
	var owner LockOwner
	if json.Unmarshal([]byte(strings.TrimSpace(parts[2])), &owner) == nil && owner.Who != "" && owner.PID > 1 {
		st.owner, st.hasOwner = owner, true
	}
	return st, nil
}

// flockHolders reads /proc/locks for the pids holding a FLOCK on file
// (maj:min:inode); waiting requests ("->") hold nothing.
func flockHolders(procLocks, file string) []int {
	var pids []int
	for _, line := range strings.Split(procLocks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" || f[5] != file {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// LockedError is the lock held by another deploy; errors.Is(err,
// ErrLocked) holds.
type LockedError struct {
	App string
	// Owner is the deploy holding it, when Known.
	Owner LockOwner
	Known bool
	// Holders are the pids holding the flock on the server; none means it
	// was released just as it was looked at.
	Holders []int
}

func (e *LockedError) Error() string {
	switch {
	case e.Known:
		return fmt.Sprintf("%v for %s: %s since %s (%s ago, pid %d on the server); if that deploy is hung, break the lock explicitly",
			ErrLocked, e.App, e.Owner.Who, e.Owner.Since.Format(time.RFC3339), time.Since(e.Owner.Since).Round(time.Second), e.Owner.PID)
	case len(e.Holders) == 0:
		return fmt.Sprintf("%v for %s (it was released just now: try again)", ErrLocked, e.App)
	}
	return fmt.Sprintf("%v for %s (owner unknown; held by pid %v on the server)", ErrLocked, e.App, e.Holders)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// Waiting is the progress line while a deploy waits up to wait for e's
// holder to let go.
func (e *LockedError) Waiting(wait time.Duration) string {
	return fmt.Sprintf("waiting up to %s for the deploy lock of %s, held by %s", wait, e.App, e.Holder())
}

// CheckLockWait refuses a negative lock wait (Begin's wait), before
// anything connects.
func CheckLockWait(wait time.Duration) error {
	if wait < 0 {
		return fmt.Errorf("lock wait %s: must not be negative (0 fails at once when another deploy holds the lock)", wait)
	}
	return nil
}

// Holder names who holds the lock and since when, for a progress line.
func (e *LockedError) Holder() string {
	if !e.Known {
		return fmt.Sprintf("an unrecorded deploy (pid %v on the server)", e.Holders)
	}
	return fmt.Sprintf("%s since %s (%s ago)", e.Owner.Who, e.Owner.Since.Format(time.RFC3339), time.Since(e.Owner.Since).Round(time.Second))
}

// lockHeld names the deploy holding the lock. The holder records itself
// right after it takes the lock, so a moment's wait tells the real owner
// rather than the last one.
func (s *App) lockHeld(ctx context.Context) error {
	var st lockState
	for deadline := time.Now().Add(2 * time.Second); ; {
		var err error
		if st, err = s.lockState(ctx); err == nil && st.heldByOwner() {
			return &LockedError{App: s.app, Owner: st.owner, Known: true, Holders: st.holders}
		}
		if err == nil && len(st.holders) == 0 {
			return &LockedError{App: s.app}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &LockedError{App: s.app, Holders: st.holders}
}

// lockPoll is how often a deploy waiting for the lock tries again;
// lockRemind how often it says again who holds it.
const (
	lockPoll   = time.Second
	lockRemind = 30 * time.Second
)

// lockWithin is Lock, but while another deploy holds the lock it waits
// for it, up to wait, telling waiting who holds it (at first, whenever
// the holder changes, and every 30s). With wait 0 it is Lock.
func (s *App) lockWithin(ctx context.Context, who string, wait time.Duration, waiting func(*LockedError)) (*Held, error) {
	start := time.Now()
	var told LockOwner
	var toldAt time.Time
	for {
		l, err := s.Lock(ctx, who)
		var held *LockedError
		if err == nil || !errors.As(err, &held) || wait <= 0 {
			return l, err
		}
		if time.Since(start) >= wait {
			return nil, fmt.Errorf("waited %s for the deploy lock (with-timeouts --lock-wait): %w", wait, err)
		}
		if waiting != nil && held.Known && (held.Owner != told || time.Since(toldAt) >= lockRemind) {
			waiting(held)
			told, toldAt = held.Owner, time.Now()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the deploy lock: %w (%w)", ctx.Err(), err)
		case <-time.After(min(lockPoll, wait-time.Since(start))):
		}
	}
}

// BreakLock ends the process holding the lock, after checking that the
// recorded owner is the process that holds it: a pid in a stale owner
// file may by now be anything.
func (s *App) BreakLock(ctx context.Context) (LockOwner, error) {
	st, err := s.lockState(ctx)
	if err != nil {
		return LockOwner{}, err
	}
	switch {
	case len(st.holders) == 0:
		return st.owner, fmt.Errorf("the lock of %s is not held", s.app)
	case !st.hasOwner:
		return LockOwner{}, fmt.Errorf("the lock of %s is held by pid %v on the server, but no owner is recorded: nothing was ended; check that process and end it yourself if it is a hung deploy", s.app, st.holders)
	case !st.heldByOwner():
		return st.owner, fmt.Errorf("the lock of %s is held by pid %v on the server, but .lock.owner names pid %d (%s): nothing was ended; check that process and end it yourself if it is a hung deploy", s.app, st.holders, st.owner.PID, st.owner.Who)
	}
	// Check again right before the kill, in the same script; end the
	// holder's child first so it cannot clear a newer owner file later.
	pid := strconv.Itoa(st.owner.PID)
	script := fmt.Sprintf(`cd %s || exit 1
grep -Eq '^[0-9]+: FLOCK +[A-Z]+ +[A-Z]+ +%s +%s ' /proc/locks || { echo moved; exit 0; }
pkill -TERM -P %s; kill -TERM %s 2>/dev/null
if flock -w 5 .lock rm -f .lock.owner; then echo broken; else echo taken; fi`, Q(s.appDir), pid, st.file, pid, pid)
	res, err := s.Run(ctx, "break lock", script, nil)
	if err != nil {
		return st.owner, fmt.Errorf("break lock: %w", err)
	}
	switch strings.TrimSpace(res) {
	case "moved":
		return st.owner, fmt.Errorf("the lock of %s changed hands while it was being broken: nothing was ended; try again", s.app)
	case "taken":
		return st.owner, fmt.Errorf("ended pid %d (%s), but another deploy took the lock of %s at once", st.owner.PID, st.owner.Who, s.app)
	}
	return st.owner, nil
}

// Begin runs the preflight and takes the deploy lock, the start of every
// change to the server, waiting up to wait for a lock another deploy
// holds and telling waiting who holds it (see lockWithin).
func (s *App) Begin(ctx context.Context, minFreeMB int, who string, wait time.Duration, waiting func(*LockedError)) (*Held, error) {
	if err := s.Preflight(ctx, minFreeMB); err != nil {
		return nil, err
	}
	return s.lockWithin(ctx, who, wait, waiting)
}
