package ci

import (
	"fmt"
	"strings"
)

// Summary is what a GitHub job summary shows about a goship run.
type Summary struct {
	App          string
	Steps        []Step
	Tests        *Counts
	TestFailures []TestFailure
	Lint         []LintIssue
	// Scan is the scan verdict's markdown (scan.Verdict.Summary).
	Scan      string
	Published string // repo@sha256:… when published
	Deploy    string // deploy outcome, when deployed
	Reproduce string // the local command for this run
}

// Markdown renders the summary.
func (s Summary) Markdown() string {
	var b strings.Builder
	b.WriteString(StepsSummary(s.App, s.Steps))
	if s.Tests != nil {
		fmt.Fprintf(&b, "\n**Tests:** %d passed, %d failed, %d skipped\n", s.Tests.Passed, s.Tests.Failed, s.Tests.Skipped)
	}
	if len(s.TestFailures) > 0 {
		b.WriteString("\n<details><summary>Test failures</summary>\n\n")
		for _, f := range s.TestFailures {
			b.WriteString("```\n" + f.String() + "\n```\n")
		}
		b.WriteString("</details>\n")
	}
	if len(s.Lint) > 0 {
		fmt.Fprintf(&b, "\n**Lint:** %d issue(s)\n\n", len(s.Lint))
		for _, i := range s.Lint {
			fmt.Fprintf(&b, "- `%s:%d` %s (%s)\n", i.File, i.Line, i.Text, i.Linter)
		}
	}
	if s.Scan != "" {
		b.WriteString("\n" + s.Scan)
	}
	if s.Published != "" {
		fmt.Fprintf(&b, "\n**Published:** `%s`\n", s.Published)
	}
	if s.Deploy != "" {
		fmt.Fprintf(&b, "\n**Deploy:** %s\n", s.Deploy)
	}
	if s.Reproduce != "" {
		b.WriteString("\n**Reproduce locally:**\n\n```sh\n" + s.Reproduce + "\n```\n")
	}
	return b.String()
}

// Annotations are GitHub workflow commands (::error file=…,line=…::) for
// lint issues and test failures; printed by a workflow step, GitHub shows
// them on the pull request's diff. root is the path of the Go module in
// the repository ("" for the root) and modulePath its go.mod module path,
// so file names resolve to repository paths.
func Annotations(root, modulePath string, lint []LintIssue, fails []TestFailure) string {
	var b strings.Builder
	prefix := strings.Trim(root, "/")
	if prefix != "" && prefix != "." {
		prefix += "/"
	} else {
		prefix = ""
	}
	for _, i := range lint {
		fmt.Fprintf(&b, "::error file=%s,line=%d,col=%d,title=%s::%s\n", escapeProp(prefix+i.File), i.Line, i.Column, escapeProp(i.Linter), escapeData(i.Text))
	}
	for _, f := range fails {
		file, line := failureLocation(f.Output)
		title := escapeProp(f.Package + "." + f.Test)
		if file != "" {
			dir := strings.TrimPrefix(strings.TrimPrefix(f.Package, modulePath), "/")
			fmt.Fprintf(&b, "::error file=%s,line=%d,title=%s::%s\n", escapeProp(prefix+joinPath(dir, file)), line, title, escapeData(f.Output))
		} else {
			fmt.Fprintf(&b, "::error title=%s::%s\n", title, escapeData(f.Output))
		}
	}
	return b.String()
}

// failureLocation finds the first "name_test.go:NN:" in a test's output.
func failureLocation(out string) (string, int) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		file, rest, ok := strings.Cut(line, ".go:")
		if !ok || strings.ContainsAny(file, " \t") {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(rest, "%d", &n); err == nil && n > 0 {
			return file + ".go", n
		}
	}
	return "", 0
}

func joinPath(dir, file string) string {
	if dir == "" || strings.Contains(file, "/") {
		return file
	}
	return dir + "/" + file
}

// GitHub's escaping for workflow command data and properties.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(strings.TrimSpace(s))
}

func escapeProp(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
