package ci

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jstemmer/go-junit-report/v2/gtr"
	"github.com/jstemmer/go-junit-report/v2/junit"
	"github.com/jstemmer/go-junit-report/v2/parser/gotest"
)

// TestReport is parsed `go test -json` output.
type TestReport struct {
	report gtr.Report
}

// ParseTestJSON reads `go test -json` output.
func ParseTestJSON(data []byte) (*TestReport, error) {
	data, err := joinSplitLines(data)
	if err != nil {
		return nil, fmt.Errorf("go test -json output: %w", err)
	}
	r, err := gotest.NewJSONParser().Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("go test -json output: %w", err)
	}
	return &TestReport{report: r}, nil
}

// joinSplitLines merges the output events test2json splits a long line
// into: an output without a trailing newline goes on in the next output
// event of the same test. The parser reads each event as a line, so a
// split "--- PASS: <very long subtest name>" left that test without a
// result (go-httpbin has such a test). Output with no split line, the
// usual case, is returned as it is.
func joinSplitLines(data []byte) ([]byte, error) {
	if !hasSplitLine(data) {
		return data, nil
	}
	var out bytes.Buffer
	var open map[string]json.RawMessage // an output event whose line goes on
	openText := ""
	flush := func() error {
		if open == nil {
			return nil
		}
		text, err := json.Marshal(openText)
		if err != nil {
			return err
		}
		open["Output"] = text
		line, err := json.Marshal(open)
		out.Write(line)
		out.WriteByte('\n')
		open = nil
		return err
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		output := bytes.Contains(line, []byte(`"Action":"output"`))
		if open == nil && (!output || bytes.Contains(line, []byte(`\n"`))) {
			out.Write(line) // most lines: copied, not decoded
			out.WriteByte('\n')
			continue
		}
		var e map[string]json.RawMessage
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, err
		}
		var text string
		_ = json.Unmarshal(e["Output"], &text)
		switch {
		case open != nil && output && sameTest(open, e):
			openText += text
		case output:
			if err := flush(); err != nil {
				return nil, err
			}
			open, openText = e, text
		default:
			if err := flush(); err != nil {
				return nil, err
			}
			out.Write(line)
			out.WriteByte('\n')
			continue
		}
		if strings.HasSuffix(openText, "\n") {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// hasSplitLine reports whether some output event's text does not end in
// a newline, without decoding the events.
func hasSplitLine(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(line, []byte(`"Action":"output"`)) && !bytes.Contains(line, []byte(`\n"`)) {
			return true
		}
	}
	return false
}

func sameTest(a, b map[string]json.RawMessage) bool {
	return bytes.Equal(a["Package"], b["Package"]) && bytes.Equal(a["Test"], b["Test"])
}

// JUnit renders the report as JUnit XML: one testsuite per package that
// has tests or failed to build or run, named after the package.
func (t *TestReport) JUnit() ([]byte, error) {
	suites := junit.CreateFromReport(withTestsOrErrors(t.report), "")
	var buf bytes.Buffer
	if err := suites.WriteXML(&buf); err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	return buf.Bytes(), nil
}

// withTestsOrErrors leaves out packages without tests. With -cover, go test
// reports a package without test files by a bare coverage line that the
// parser files under a nameless package; without -cover it is a named
// package with no tests. Neither is a test suite.
func withTestsOrErrors(r gtr.Report) gtr.Report {
	var kept []gtr.Package
	for _, p := range r.Packages {
		if len(p.Tests) > 0 || failedToBuild(p) || failedToRun(p) {
			kept = append(kept, p)
		}
	}
	return gtr.Report{Packages: kept}
}

// Counts are the test totals.
type Counts struct{ Passed, Failed, Skipped int }

// Counts totals the report's tests.
func (t *TestReport) Counts() Counts {
	var c Counts
	for _, p := range t.report.Packages {
		for _, test := range p.Tests {
			switch test.Result {
			case gtr.Pass:
				c.Passed++
			case gtr.Fail:
				c.Failed++
			case gtr.Skip:
				c.Skipped++
			}
		}
	}
	return c
}

// TestFailure is a failed test, or a package that failed to build or run.
type TestFailure struct {
	Package string
	Test    string // empty for a package-level failure
	Output  string
}

func (f TestFailure) String() string {
	name := f.Package
	if f.Test != "" {
		name += "." + f.Test
	}
	return name + ":\n" + indent(f.Output)
}

// Failures lists what failed, with each failure's own output.
func (t *TestReport) Failures() []TestFailure {
	var out []TestFailure
	for _, p := range t.report.Packages {
		if failedToBuild(p) {
			out = append(out, TestFailure{Package: p.Name, Output: "build failed:\n" + strings.Join(p.BuildError.Output, "\n")})
		}
		if failedToRun(p) {
			out = append(out, TestFailure{Package: p.Name, Output: strings.Join(p.RunError.Output, "\n")})
		}
		for _, test := range p.Tests {
			if test.Result == gtr.Fail {
				out = append(out, TestFailure{Package: p.Name, Test: test.Name, Output: strings.Join(test.Output, "\n")})
			}
		}
	}
	return out
}

func failedToBuild(p gtr.Package) bool {
	return p.BuildError.Name != "" || len(p.BuildError.Output) > 0
}

func failedToRun(p gtr.Package) bool {
	return p.RunError.Name != "" || len(p.RunError.Output) > 0
}

// FailureSummary is an error message naming every failed test.
func FailureSummary(fails []TestFailure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d test failure(s):\n", len(fails))
	for _, f := range fails {
		b.WriteString(f.String())
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + strings.TrimLeft(l, " ")
	}
	return strings.Join(lines, "\n")
}
