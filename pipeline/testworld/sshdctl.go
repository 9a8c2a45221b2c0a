package testworld

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stop ends the server's sshd, as a host that went down would: new
// connections are refused. Open connections end too.
func (s *SSHServer) Stop(t testing.TB) {
	t.Helper()
	s.CutConnections(t)
	pid := s.pid(t)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("testworld: stop sshd %d: %v", pid, err)
	}
	// The test is its parent and reaps it only at cleanup: until then a
	// killed sshd stays a zombie, which is gone enough.
	for deadline := time.Now().Add(5 * time.Second); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("testworld: sshd %d still running", pid)
		}
	}
}

// CutConnections kills the sshd processes serving this server's open
// connections (not the listener), as a network cut would: every client
// sees its connection drop, and new connections are still accepted. It
// returns how many processes it killed.
func (s *SSHServer) CutConnections(t testing.TB) int {
	t.Helper()
	listener := s.pid(t)
	n := 0
	for _, pid := range descendants(listener) {
		comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "sshd") {
			continue // the sessions' own commands end when their sshd goes
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// FreezeConnections stops (SIGSTOP) the sshd processes serving this
// server's open connections, as a link that stalls would: the kernel
// still accepts the client's packets, and nothing answers them. New
// connections are still accepted. The processes are resumed when the
// test ends. It returns how many it stopped.
func (s *SSHServer) FreezeConnections(t testing.TB) int {
	t.Helper()
	var stopped []int
	for _, pid := range descendants(s.pid(t)) {
		comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), "sshd") {
			continue
		}
		if syscall.Kill(pid, syscall.SIGSTOP) == nil {
			stopped = append(stopped, pid)
		}
	}
	t.Cleanup(func() {
		for _, pid := range stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	return len(stopped)
}

// pid is the listening sshd's pid, from its PidFile.
func (s *SSHServer) pid(t testing.TB) int {
	t.Helper()
	var b []byte
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err = os.ReadFile(filepath.Join(s.dir, "sshd.pid")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("testworld: sshd pid file: %v", err)
		}
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("testworld: sshd pid file: %v", err)
	}
	return pid
}

// alive reports whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	rest := string(stat)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	return len(f) > 0 && f[0] != "Z"
}

// descendants are the pids below root in the process tree.
func descendants(root int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: fields start after it.
		rest := string(stat)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 {
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
