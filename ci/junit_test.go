package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goship-dev/goship/pipeline/gobuild"
)

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
