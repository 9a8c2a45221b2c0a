package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Two deploys race for the lock, 20 times: the loser is always told the
// deploy that actually holds it, and the owner record goes with the lock.
func TestLockRacesNameTheRealHolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, _ := w.app(t, "race")
	appDir := w.srv.AppRoot + "/" + app
	servers := [2]*App{New(w.dial(t), app, appDir, "app"), New(w.dial(t), app, appDir, "app")}
	if err := servers[0].Preflight(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ownerFile := filepath.Join(appDir, ".lock.owner")
	for i := range 20 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		locks := [2]*Held{}
		errs := [2]error{}
		for side := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				locks[side], errs[side] = servers[side].Lock(context.Background(), fmt.Sprintf("racer-%d-%d", i, side))
			}()
		}
		close(start)
		wg.Wait()
		winner := 0
		if locks[0] == nil {
			winner = 1
		}
		loser := 1 - winner
		if locks[winner] == nil || locks[loser] != nil {
			t.Fatalf("race %d: both or neither got the lock: %v", i, errs)
		}
		want := fmt.Sprintf("racer-%d-%d", i, winner)
		if !errors.Is(errs[loser], ErrLocked) || !strings.Contains(errs[loser].Error(), want) {
			t.Errorf("race %d: the loser was told %v, want the holder %s", i, errs[loser], want)
		}
		locks[winner].Release()
		if _, err := os.Stat(ownerFile); !os.IsNotExist(err) {
			t.Fatalf("race %d: .lock.owner is still there after release (%v)", i, err)
		}
	}
}

// BreakLock ends only a process that holds the lock: a recorded pid that
// does not (here a stray process of the deploy user) is left alone.
func TestBreakLockChecksTheRecordedPIDHoldsTheLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, _ := w.app(t, "brk")
	appDir := w.srv.AppRoot + "/" + app
	c := w.dial(t)
	s := New(c, app, appDir, "app")
	if err := s.Preflight(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	held, err := s.Lock(context.Background(), "alice@laptop")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	// A process of the deploy user that has nothing to do with the lock.
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sess.Close() }()
	out, _ := sess.StdoutPipe()
	if err := sess.Start(`echo "$$"; exec sleep 300`); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	stray, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("stray pid %q", line)
	}
	forged, _ := json.Marshal(LockOwner{Who: "mallory", PID: stray, Since: time.Now().UTC()})
	if err := os.WriteFile(filepath.Join(appDir, ".lock.owner"), forged, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = New(w.dial(t), app, appDir, "app").BreakLock(context.Background())
	if err == nil || !strings.Contains(err.Error(), "nothing was ended") {
		t.Fatalf("BreakLock with a forged owner: %v", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", stray)); err != nil {
		t.Fatalf("BreakLock ended pid %d, which does not hold the lock", stray)
	}
	if _, err := New(w.dial(t), app, appDir, "app").Lock(context.Background(), "bob"); !errors.Is(err, ErrLocked) {
		t.Fatalf("the lock is no longer held: %v", err)
	}
}

// A deploy that may wait for the lock waits while another holds it,
// saying who that is and since when, and takes the lock the moment it is
// let go; one whose wait runs out is refused, naming the holder.
func TestLockWithinWaitsForTheHolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, _ := w.app(t, "wait")
	appDir := w.srv.AppRoot + "/" + app
	first := New(w.dial(t), app, appDir, "app")
	if err := first.Preflight(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	held, err := first.Lock(context.Background(), "alice@laptop")
	if err != nil {
		t.Fatal(err)
	}

	// A third deploy, with a short wait, gives up while alice holds it.
	_, err = New(w.dial(t), app, appDir, "app").lockWithin(context.Background(), "carol", 1500*time.Millisecond, nil)
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.Owner.Who != "alice@laptop" || !strings.Contains(err.Error(), "waited 1.5s") {
		t.Fatalf("a wait that ran out: %v", err)
	}

	// Alice lets go only once bob has been told she holds it, so bob's
	// wait is real however slow the machine (a timer raced his dial).
	var mu sync.Mutex
	var told []*LockedError
	toldOnce := make(chan struct{})
	released := make(chan struct{}, 1)
	go func() {
		select {
		case <-toldOnce:
		case <-time.After(30 * time.Second):
		}
		held.Release()
		released <- struct{}{}
	}()
	second := New(w.dial(t), app, appDir, "app")
	l, err := second.lockWithin(context.Background(), "bob@ci", time.Minute, func(e *LockedError) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, e)
		if len(told) == 1 {
			close(toldOnce)
		}
	})
	if err != nil {
		t.Fatalf("bob waited for the lock and got: %v", err)
	}
	defer l.Release()
	<-released
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 1 || told[0].Owner.Who != "alice@laptop" || told[0].Owner.Since.IsZero() ||
		!strings.Contains(told[0].Holder(), "alice@laptop since ") {
		t.Fatalf("while waiting bob was told %+v, want alice once", told)
	}
	// Bob holds it now: the owner record is his.
	b, err := os.ReadFile(filepath.Join(appDir, ".lock.owner"))
	if err != nil || !strings.Contains(string(b), `"bob@ci"`) {
		t.Fatalf(".lock.owner = %q (%v), want bob's", b, err)
	}
}
