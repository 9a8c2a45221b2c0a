// Package repocheck tests the repository's own CI-facing files with the
// real tools: the Taskfile with task, the workflows with actionlint, and
// the pins goship promises (actions by commit SHA, Dagger v0.21.0).
package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

func TestTaskfileHasEveryVerb(t *testing.T) {
	root := testworld.RepoRoot(t)
	cmd := exec.Command(testworld.Tool(t, "task"), "--list")
	cmd.Dir = root
	// task colours its output when CI=true; the assertions read plain text.
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("task --list: %v\n%s", err, out)
	}
	for _, verb := range []string{"lint", "test", "build", "scan", "publish", "deploy", "rollback", "releases", "status", "logs", "exec", "details", "maintenance", "ci", "release", "dev:test", "dev:modcheck", "dev:world:start", "dev:world:stop"} {
		if !regexp.MustCompile(`(?m)^\* ` + regexp.QuoteMeta(verb) + `:\s+\S`).Match(out) {
			t.Errorf("task --list has no described task %q:\n%s", verb, out)
		}
	}
}

func TestWorkflowsPassActionlint(t *testing.T) {
	root := testworld.RepoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, ".github/workflows/*.yml"))
	if len(files) < 3 {
		t.Fatalf("want ci, release and rollback workflows, found %v", files)
	}
	cmd := exec.Command(testworld.Tool(t, "actionlint"), files...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// Workflows stay thin: every step is checkout, dagger, restoring or
// saving goship's exported cache directory or the engine's state (what a
// runner keeps between runs; engine-state.sh, one call per step), an
// artifact or SARIF upload, or printing a report;
// actions are pinned by commit SHA; Dagger is pinned to the engine version.
func TestWorkflowsAreThinAndPinned(t *testing.T) {
	root := testworld.RepoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, ".github/workflows/*.yml"))
	uses := regexp.MustCompile(`uses:\s*([^\s@]+)@(\S+)`)
	allowed := map[string]bool{
		"actions/checkout": true, "dagger/dagger-for-github": true,
		"actions/upload-artifact": true, "github/codeql-action/upload-sarif": true,
		"actions/cache/restore": true, "actions/cache/save": true,
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range uses.FindAllStringSubmatch(text, -1) {
			if !allowed[m[1]] {
				t.Errorf("%s uses %s: workflows only check out, call dagger and upload reports", filepath.Base(f), m[1])
			}
			if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(m[2]) {
				t.Errorf("%s: %s is pinned to %q, not a commit SHA", filepath.Base(f), m[1], m[2])
			}
		}
		// A cache step moves goship's cache directory or the engine's
		// state and nothing else: no Go or npm cache beside the engine's.
		if n := strings.Count(text, "uses: actions/cache/"); n != strings.Count(text, "path: .goship-cache")+strings.Count(text, "path: .engine-state") {
			t.Errorf("%s: %d cache steps, but not all of them move only .goship-cache or .engine-state", filepath.Base(f), n)
		}
		// A run step is one call of the engine-state script or prints a
		// report: no logic in YAML.
		for _, m := range regexp.MustCompile(`(?m)^\s+run: (.*)$`).FindAllStringSubmatch(text, -1) {
			if !strings.HasPrefix(m[1], "scripts/engine-state.sh ") && m[1] != "|" {
				t.Errorf("%s: run step %q: steps call dagger or scripts/engine-state.sh only", filepath.Base(f), m[1])
			}
		}
		if strings.Count(text, "dagger/dagger-for-github@") != strings.Count(text, `version: "0.21.0"`) {
			t.Errorf("%s: every dagger step must pin version 0.21.0", filepath.Base(f))
		}
		if strings.Contains(text, "secrets.") && strings.Contains(text, "--password=${{") {
			t.Errorf("%s passes a secret on the command line; use env:// URIs", filepath.Base(f))
		}
		if !strings.Contains(text, "if: failure()") || !strings.Contains(text, "reproduce --verb=") {
			t.Errorf("%s does not print the reproduce command on failure", filepath.Base(f))
		}
	}
}
