package ci

import (
	"os/exec"
	"strings"
	"testing"
)

// A run that did not say where its source lives (ci without --repo-path,
// as scripts/ci.sh calls it) gets a placeholder and the reason, never a
// path that would reproduce another project.
func TestReproduceWithoutSourcePath(t *testing.T) {
	cmd := Reproduce(Replay{SHA: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", Verb: "ci", ConstructorArgs: []string{"--port=9090"}})
	lines := strings.Split(cmd, "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "# ") || !strings.HasPrefix(lines[1], "# ") {
		t.Fatalf("want two comment lines, then the command:\n%s", cmd)
	}
	if !strings.Contains(lines[0], "--repo-path") || !strings.Contains(lines[1], "replace "+SourcePlaceholder) {
		t.Fatalf("the comment does not say why or what to replace:\n%s", cmd)
	}
	if !strings.Contains(lines[3], "'--source="+SourcePlaceholder+"' --port=9090 ci") {
		t.Fatalf("the command lacks the placeholder:\n%s", cmd)
	}
	if strings.Contains(cmd, "--source=.") {
		t.Fatalf("a guessed source:\n%s", cmd)
	}
	// The comment lines keep the block a valid shell script.
	if out, err := exec.Command("sh", "-n", "-c", cmd).CombinedOutput(); err != nil {
		t.Fatalf("sh -n: %v\n%s\n%s", err, out, cmd)
	}
}

func TestReproduceWithSourcePath(t *testing.T) {
	cmd := Reproduce(Replay{Source: "examples/hello-service", Verb: "ci", VerbArgs: []string{"--repo-path=examples/hello-service"}})
	if want := "dagger call --source=examples/hello-service ci --repo-path=examples/hello-service"; cmd != want {
		t.Fatalf("Reproduce = %q, want %q", cmd, want)
	}
}
