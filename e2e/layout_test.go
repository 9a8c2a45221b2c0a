//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// A service in a subdirectory of a Go workspace, importing a sibling
// module of the workspace: --dir picks the service, go.work wires the
// sibling in, and both test and build see it.
func TestWorkspaceServiceInASubdirectory(t *testing.T) {
	repo := testworld.Dir(t, "monorepo")
	for f, content := range map[string]string{
		"go.work":                  "go 1.26\n\nuse (\n\t./lib\n\t./services/api\n)\n",
		"lib/go.mod":               "module example.com/lib\n\ngo 1.26\n",
		"lib/greet.go":             "// Package lib greets.\npackage lib\n\n// Greeting is the greeting.\nfunc Greeting() string { return \"hello from lib\" }\n",
		"services/api/go.mod":      "module example.com/api\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n",
		"services/api/main.go":     "// Command api prints lib's greeting.\npackage main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/lib\"\n)\n\nfunc main() { fmt.Println(lib.Greeting()) }\n",
		"services/api/api_test.go": "package main\n\nimport (\n\t\"testing\"\n\n\t\"example.com/lib\"\n)\n\nfunc TestGreeting(t *testing.T) {\n\tif lib.Greeting() == \"\" {\n\t\tt.Fatal(\"empty\")\n\t}\n}\n",
	} {
		writeFile(t, filepath.Join(repo, f), content)
	}
	args := []string{"--dir=services/api"}
	must(t, goship(t, repo, nil, append(args, "test")...), "test in a workspace")
	bin := filepath.Join(t.TempDir(), "api")
	must(t, goship(t, repo, nil, append(args, "binary", "export", "--path="+bin)...), "binary in a workspace")
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from lib" {
		t.Fatalf("the binary said %q (%v)", out, err)
	}
	// A --dir that the workspace does not use is refused, naming the fix.
	writeFile(t, filepath.Join(repo, "services/other/go.mod"), "module example.com/other\n\ngo 1.26\n")
	mustFail(t, goship(t, repo, nil, "--dir=services/other", "test"), "--dir outside go.work", "go work use")
}

// The image's source label comes from the source's git remote,
// credentials stripped.
func TestSourceLabelFromGitRemote(t *testing.T) {
	src := hello(t)
	for _, argv := range [][]string{
		{"git", "init", "-q"},
		{"git", "remote", "add", "origin", "https://deploy:s3cr3t@github.com/acme/hello-service.git"},
	} {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v %s", argv, err, out)
		}
	}
	label := must(t, goship(t, src, nil, "build", "label", "--name=org.opencontainers.image.source"), "build label")
	if label != "https://github.com/acme/hello-service" {
		t.Fatalf("source label = %q, want the remote's web URL without credentials", label)
	}
}
