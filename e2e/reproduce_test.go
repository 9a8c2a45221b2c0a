//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// The reproduce command that a failed ci prints replays the run: run as
// printed, it fails the same way.
func TestReproduceCommandReplaysTheFailure(t *testing.T) {
	root := testworld.RepoRoot(t)
	src := hello(t)
	writeFile(t, filepath.Join(src, "cmd/hello/planted_test.go"),
		"package main\n\nimport \"testing\"\n\nfunc TestPlantedFailure(t *testing.T) { t.Fatal(\"planted failure\") }\n")
	args := []string{"--scanners=secret", "--port=9090"}
	reports := t.TempDir()
	must(t, goship(t, src, nil, append(args, "reports", "--repo-path="+src, "--module="+root, "export", "--path="+reports)...), "reports")
	summary, err := os.ReadFile(filepath.Join(reports, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := reproduceBlock(t, string(summary))
	for _, want := range append(append([]string{"-m " + root, "--source=" + src}, engineArgs()...), args...) {
		if !strings.Contains(cmd, want) {
			t.Fatalf("the reproduce command lacks %q:\n%s", want, cmd)
		}
	}
	if strings.Contains(cmd, "git ") {
		t.Fatalf("a run without a commit prints a git step:\n%s", cmd)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	replay := exec.CommandContext(ctx, "sh", "-c", cmd)
	replay.Dir = t.TempDir() // anywhere: the command names everything it needs
	out, err := replay.CombinedOutput()
	mustFail(t, result{out: string(out), err: err}, "the printed reproduce command", "TestPlantedFailure", "planted failure")
}

// reproduceBlock is the shell block under "Reproduce locally" in a summary.
func reproduceBlock(t *testing.T, summary string) string {
	t.Helper()
	_, after, ok := strings.Cut(summary, "**Reproduce locally:**")
	if !ok {
		t.Fatalf("summary has no reproduce command:\n%s", summary)
	}
	_, block, _ := strings.Cut(after, "```sh\n")
	block, _, _ = strings.Cut(block, "\n```")
	return strings.TrimSpace(block)
}
