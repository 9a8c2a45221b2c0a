//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// A failed test step is not handed back to the next call on the same
// source, the way go test never caches a failure; the calls of one
// --attempt (reports, then ci in the workflow) share one test run, and
// the next attempt runs the tests again.
//
// The project gets a test that asks a server of this test, once per
// request, whether to fail: the first request of each round fails, the
// later ones pass. The server counts the requests, so "the tests ran
// again" is read from what reached it, not from goship's output. The
// round is a file the test reads, so go's own test cache keys on it.
func TestRerunAfterAFailedTestStep(t *testing.T) {
	src := hello(t)
	flaky := &flakyServer{requests: map[string]int{}}
	addr := testworld.ServeHTTP(t, flaky)
	writeFile(t, filepath.Join(src, "internal", "flaky", "flaky_test.go"), fmt.Sprintf(flakyTest, addr))

	round := func(r string) { writeFile(t, filepath.Join(src, "internal", "flaky", "testdata", "round"), r) }
	test := func(args ...string) result { return goship(t, src, nil, append(args, "test")...) }
	want := func(r string, n int, after string) {
		t.Helper()
		if got := flaky.count(r); got != n {
			t.Fatalf("after %s, round %s's test ran %d times, want %d", after, r, got, n)
		}
	}

	// No attempt: the failure moves the ledger, so the next call is a new run.
	round("1")
	mustFail(t, test(), "the first run of round 1", "TestAsksTheServer", "round 1: request 1 fails")
	want("1", 1, "the first run")
	must(t, test(), "the same source again")
	want("1", 2, "the second run (a failure given back by the engine would have left it at 1)")

	// One attempt shares its test run; the next attempt runs again.
	round("2")
	mustFail(t, test("--attempt=101-1"), "attempt 101-1", "round 2: request 1 fails")
	mustFail(t, test("--attempt=101-1"), "attempt 101-1 again", "round 2: request 1 fails")
	want("2", 1, "two calls of one attempt")
	must(t, test("--attempt=101-2"), "attempt 101-2, a re-run")
	want("2", 2, "the re-run attempt")
}

// flakyTest is the project's test; %s is the server's address.
const flakyTest = `package flaky

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestAsksTheServer(t *testing.T) {
	round, err := os.ReadFile("testdata/round")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://%s/?round=" + strings.TrimSpace(string(round)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%%s", body)
	}
}
`

// flakyServer fails the first request of each round.
type flakyServer struct {
	mu       sync.Mutex
	requests map[string]int
}

func (f *flakyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	round := r.URL.Query().Get("round")
	f.mu.Lock()
	f.requests[round]++
	n := f.requests[round]
	f.mu.Unlock()
	if n == 1 {
		http.Error(w, fmt.Sprintf("round %s: request 1 fails", round), http.StatusServiceUnavailable)
		return
	}
	_, _ = fmt.Fprintf(w, "round %s: request %d passes\n", round, n)
}

func (f *flakyServer) count(round string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[round]
}
