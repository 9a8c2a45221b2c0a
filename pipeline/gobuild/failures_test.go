package gobuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestFailureLedger(t *testing.T) {
	dir := t.TempDir()
	if got := sh(t, ReadFailuresScript(dir)); got != "0" {
		t.Fatalf("an empty ledger reads %q, want 0", got)
	}
	sh(t, RecordFailureScript(dir, 0))
	if got := sh(t, ReadFailuresScript(dir)); got != "1" {
		t.Fatalf("after a failure keyed by 0 the ledger reads %q, want 1", got)
	}
	// A second failure of the run keyed by 0 (ci and test of one call).
	sh(t, RecordFailureScript(dir, 0))
	if got := sh(t, ReadFailuresScript(dir)); got != "1" {
		t.Fatalf("a second failure of the same key moved the ledger to %q, want 1", got)
	}
	sh(t, RecordFailureScript(dir, 1))
	if got := sh(t, ReadFailuresScript(dir)); got != "2" {
		t.Fatalf("after a failure keyed by 1 the ledger reads %q, want 2", got)
	}
	// Whatever else is in the file reads as an empty ledger.
	if err := os.WriteFile(filepath.Join(dir, "failed-runs"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sh(t, ReadFailuresScript(dir)); got != "0" {
		t.Fatalf("a damaged ledger reads %q, want 0", got)
	}
	sh(t, RecordFailureScript(dir, 0))
	if got := sh(t, ReadFailuresScript(dir)); got != "1" {
		t.Fatalf("a failure on a damaged ledger leaves %q, want 1", got)
	}
}
