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

// joinSplitLines joins the pieces test2json splits a long line into, for
// the lines the parser must read whole: a "--- PASS: <very long subtest
// name> (0.00s)" split in two left that test without a result (go-httpbin
// has such a test). A piece that starts such a framing line ("--- ",
// "=== ") and ends without a newline goes on in the next output events of
// the same package and test, however other packages' events interleave.
// Other output is left as it is; so is a joined line that would outgrow
// the parser's 64 KiB line buffer. Output with no unfinished line is
// returned untouched, without decoding.
func joinSplitLines(data []byte) ([]byte, error) {
	if !hasSplitLine(data) {
		return data, nil
	}
	const maxJoined = 48 << 10 // under the parser's 64 KiB per line, escapes included
	type piece struct {
		event map[string]json.RawMessage
		text  strings.Builder
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	open := map[string]*piece{} // by package
	flush := func(pkg string) error {
		p := open[pkg]
		if p == nil {
			return nil
		}
		delete(open, pkg)
		text, err := json.Marshal(p.text.String())
		if err != nil {
			return err
		}
		p.event["Output"] = text
		return enc.Encode(p.event)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e struct{ Action, Package, Test, Output string }
		if line[0] != '{' || json.Unmarshal(line, &e) != nil {
			out.Write(line) // not an event: the parser reads it as text
			out.WriteByte('\n')
			continue
		}
		p := open[e.Package]
		if p != nil && (e.Action != "output" || e.Test != testOf(p.event)) {
			if err := flush(e.Package); err != nil {
				return nil, err
			}
			p = nil
		}
		switch {
		case p != nil:
			p.text.WriteString(e.Output)
		case e.Action == "output" && !strings.HasSuffix(e.Output, "\n") && isFramingLine(e.Output):
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(line, &raw); err != nil {
				return nil, err
			}
			p = &piece{event: raw}
			p.text.WriteString(e.Output)
			open[e.Package] = p
		default:
			out.Write(line)
			out.WriteByte('\n')
			continue
		}
		if strings.HasSuffix(p.text.String(), "\n") || p.text.Len() > maxJoined {
			if err := flush(e.Package); err != nil {
				return nil, err
			}
		}
	}
	for pkg := range open {
		if err := flush(pkg); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// isFramingLine reports whether text starts a line the parser reads
// test results from.
func isFramingLine(text string) bool {
	t := strings.TrimLeft(text, " \t")
	return strings.HasPrefix(t, "--- ") || strings.HasPrefix(t, "=== ")
}

func testOf(event map[string]json.RawMessage) string {
	var test string
	_ = json.Unmarshal(event["Test"], &test)
	return test
}

// hasSplitLine reports whether some output event's text may not end in a
// newline, without decoding the events (a false alarm only costs the
// decoding).
func hasSplitLine(data []byte) bool {
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(line, []byte(`"Action":"output"`)) && !bytes.Contains(line, []byte(`\n"`)) {
			return true
		}
	}
	return false
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
