package ci

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/gobuild"
)

// realTestJSON runs `go test -json` on a copy of the sample service with
// one failing test added, so the parser sees real output.
func realTestJSON(t *testing.T) []byte {
	t.Helper()
	src, err := filepath.Abs("../examples/hello-service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	failing := "package server\n\nimport \"testing\"\n\nfunc TestDeliberatelyBroken(t *testing.T) {\n\tt.Fatalf(\"want 200, got %d\", 503)\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "internal/server/broken_test.go"), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-json", "./...")
	cmd.Dir = dir
	out, _ := cmd.Output() // exit 1: a test fails
	if !strings.Contains(string(out), `"Action":"fail"`) {
		t.Fatalf("go test -json produced no failure:\n%s", out)
	}
	return out
}

// The subset of the JUnit schema CI tools read.
type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Suites  []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// junitOf parses go test -json output, renders its JUnit XML and reads
// that back.
func junitOf(t *testing.T, testJSON []byte) (*TestReport, junitSuites, []byte) {
	t.Helper()
	report, err := ParseTestJSON(testJSON)
	if err != nil {
		t.Fatal(err)
	}
	data, err := report.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	var suites junitSuites
	if err := xml.Unmarshal(data, &suites); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, data)
	}
	return report, suites, data
}

func TestJUnitFromRealGoTestOutput(t *testing.T) {
	report, suites, _ := junitOf(t, realTestJSON(t))
	var failed []string
	total := 0
	for _, s := range suites.Suites {
		total += s.Tests
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed = append(failed, c.Classname+"."+c.Name)
				if !strings.Contains(c.Failure.Body, "want 200, got 503") {
					t.Errorf("failure body lacks the test's output: %q", c.Failure.Body)
				}
			}
		}
	}
	if len(failed) != 1 || !strings.HasSuffix(failed[0], "internal/server.TestDeliberatelyBroken") {
		t.Fatalf("failed cases = %v", failed)
	}
	if total < 5 {
		t.Fatalf("only %d test cases in the JUnit report", total)
	}
	c := report.Counts()
	if c.Failed != 1 || c.Passed < 4 {
		t.Fatalf("counts = %+v", c)
	}
	fails := report.Failures()
	if len(fails) != 1 || !strings.Contains(FailureSummary(fails), "TestDeliberatelyBroken") {
		t.Fatalf("failures = %+v", fails)
	}
	ann := Annotations("examples/hello-service", "example.com/hello-service", nil, fails)
	if !strings.HasPrefix(ann, "::error file=examples/hello-service/internal/server/broken_test.go,line=6,") {
		t.Fatalf("annotation = %q", ann)
	}
}

func TestLintParsingAndAnnotations(t *testing.T) {
	data := []byte(`{"Issues":[{"FromLinter":"errcheck","Text":"Error return value of ` + "`w.Write`" + ` is not checked","Pos":{"Filename":"internal/server/server.go","Line":27,"Column":10}}],"Report":{}}`)
	issues, err := ParseLintJSON(data)
	if err != nil || len(issues) != 1 {
		t.Fatalf("issues = %v, %v", issues, err)
	}
	ann := Annotations("", "example.com/x", issues, nil)
	if ann != "::error file=internal/server/server.go,line=27,col=10,title=errcheck::Error return value of `w.Write` is not checked\n" {
		t.Fatalf("annotation = %q", ann)
	}
	if !strings.Contains(LintSummary(issues), "server.go:27:10") {
		t.Fatal("summary lacks the position")
	}
}

func TestSummaryMarkdown(t *testing.T) {
	md := Summary{
		App:       "hello",
		Steps:     []Step{{Name: "scan"}, {Name: "lint", Err: errString("2 issues | x")}},
		Tests:     &Counts{Passed: 5, Failed: 1},
		Published: "r/x@sha256:1",
		Deploy:    "release 2026 healthy",
		Reproduce: "dagger call ci",
	}.Markdown()
	for _, want := range []string{"| lint | ❌ 2 issues \\| x |", "| scan | ✅ passed |", "5 passed, 1 failed", "`r/x@sha256:1`", "release 2026 healthy", "```sh\ndagger call ci"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "| lint") > strings.Index(md, "| scan") {
		t.Error("steps are not in chain order")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// test2json splits a line longer than it buffers into several output
// events; a subtest with a very long name (go-httpbin has one) still
// passes in the JUnit report, as go test says it did.
func TestJUnitWithASplitResultLine(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("X", 9000)
	files := map[string]string{
		"go.mod":       "module example.com/long\n\ngo 1.22\n",
		"long_test.go": "package long\n\nimport \"testing\"\n\nfunc TestLong(t *testing.T) {\n\tt.Run(\"" + long + "\", func(t *testing.T) { t.Log(\"" + long + "\") })\n\tt.Run(\"short\", func(t *testing.T) {})\n}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "-v", "./...")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	if !hasSplitLine(out) {
		t.Fatal("test2json did not split the long line; the test proves nothing")
	}
	report, suites, data := junitOf(t, out)
	if c := report.Counts(); c.Passed != 3 || c.Failed != 0 {
		t.Fatalf("counts = %+v, want 3 passed", c)
	}
	if strings.Contains(string(data), "<error") || strings.Contains(string(data), "No test result found") {
		t.Fatalf("a passing test is reported as an error:\n%.2000s", data)
	}
	if len(suites.Suites) != 1 || suites.Suites[0].Tests != 3 {
		t.Fatalf("suites = %+v", suites.Suites)
	}
}

// A long log line of characters JSON escapes, split by test2json (12 KB
// of '<' is 72 KB escaped: too long for the parser once joined), passes
// through as it is, while a split result line is joined.
func TestJoinSplitLinesLeavesLongLogsAlone(t *testing.T) {
	lt := strings.Repeat("<", 12000)
	name := strings.Repeat("X", 3000)
	ev := func(action, test, output string) string {
		b, err := json.Marshal(map[string]string{"Action": action, "Package": "example.com/a", "Test": test, "Output": output})
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	test := "TestA" + name
	stream := ev("start", "", "") + ev("run", test, "") +
		ev("output", test, "=== RUN   "+test+"\n") +
		ev("output", test, lt[:4000]) + ev("output", test, lt[4000:8000]) + ev("output", test, lt[8000:]+"\n") +
		ev("output", test, "--- PASS: "+test[:1500]) +
		ev("output", test, test[1500:]+" (0.00s)\n") +
		ev("pass", test, "") +
		ev("output", "", "PASS\n") + ev("output", "", "ok  \texample.com/a\t0.01s\n") + ev("pass", "", "")
	report, err := ParseTestJSON([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	data, err := report.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if c := report.Counts(); c.Passed != 1 || c.Failed != 0 || strings.Contains(string(data), "No test result found") {
		t.Fatalf("counts %+v; junit:\n%.1000s", c, data)
	}
}

// goTestJSONOn writes a module with a package that has tests, one without
// test files and one whose test does not compile, and returns what the real
// go tool prints for argv there.
func goTestJSONOn(t *testing.T, argv []string) []byte {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                 "module example.com/m\n\ngo 1.22\n",
		"notests/a.go":           "package notests\n\nfunc A() int { return 1 }\n",
		"withtests/b.go":         "package withtests\n\nfunc B() int { return 2 }\n",
		"withtests/b_test.go":    "package withtests\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {\n\tif B() != 2 {\n\t\tt.Fatal(B())\n\t}\n}\n",
		"broken/c.go":            "package broken\n\nfunc C() int { return 3 }\n",
		"broken/c_test.go":       "package broken\n\nimport \"testing\"\n\nfunc TestC(t *testing.T) { C(1) }\n",
		"notests/sub/plain.go":   "package sub\n",
		"withtests/skip_test.go": "package withtests\n\nimport \"testing\"\n\nfunc TestSkipped(t *testing.T) { t.Skip(\"no db\") }\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=", "GOTOOLCHAIN=local", "GOPROXY=off")
	out, _ := cmd.Output() // exit 1: broken does not build
	if len(out) == 0 {
		t.Fatalf("%v printed nothing", argv)
	}
	return out
}

func TestJUnitSuitesAreNamedPackagesWithTests(t *testing.T) {
	for _, tt := range []struct {
		name string
		argv []string
	}{
		{"goship's test argv (race, coverage)", gobuild.TestArgs("cover.out")},
		{"plain go test -json", []string{"go", "test", "-json", "./..."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			report, suites, data := junitOf(t, goTestJSONOn(t, tt.argv))
			var names []string
			for _, s := range suites.Suites {
				names = append(names, s.Name)
			}
			slices.Sort(names)
			want := []string{"example.com/m/broken", "example.com/m/withtests"}
			if !slices.Equal(names, want) {
				t.Fatalf("suites = %q, want %q\n%s", names, want, data)
			}
			if c := report.Counts(); c.Passed != 1 || c.Skipped != 1 {
				t.Fatalf("counts = %+v, want 1 passed, 1 skipped", c)
			}
		})
	}
}
