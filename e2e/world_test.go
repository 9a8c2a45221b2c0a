//go:build e2e

// Package e2e drives goship through the dagger CLI on a real Dagger
// v0.21.0 engine (../shared/engine/up.sh builds one here), against the
// test world's registries, sshd and dockerd:
//
//	go test -tags e2e -count=1 -timeout 60m ./e2e/...
//
// Module code and pipeline containers reach this machine only at the
// engine's bridge address, so the test world listens there.
//
// Environment:
//
//	GOSHIP_E2E_ENGINE_HOST  this machine's address as the engine's containers see it (default 10.87.0.1)
//	GOSHIP_E2E_ARGS         constructor flags for every call (default: the local engine's tag-only
//	                        image overrides and its Go module proxy)
package e2e

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// defaultArgs suit ../shared/engine: it mirrors Docker Hub from locally
// built images that digest pins cannot name, and has no egress but its Go
// proxy.
const defaultArgs = "--go-image=golang:1.26-bookworm --lint-image=golangci/golangci-lint:v2 --trivy-image=aquasec/trivy:0.69.3 --goproxy=http://10.87.0.1:8765"

func TestMain(m *testing.M) {
	host := os.Getenv("GOSHIP_E2E_ENGINE_HOST")
	if host == "" {
		host = "10.87.0.1"
	}
	// Every server of the test world listens where the engine reaches it.
	_ = os.Setenv("GOSHIP_WORLD_HOST", host)
	os.Exit(m.Run())
}

// localImages is the registry host of the images a --transfer=ssh deploy
// loads into the server's dockerd: the tests that deploy so remove them.
const localImages = "goship.local"

// engineArgs are the constructor flags every call gets.
func engineArgs() []string {
	if a, ok := os.LookupEnv("GOSHIP_E2E_ARGS"); ok {
		return strings.Fields(a)
	}
	return strings.Fields(defaultArgs)
}

// result is one dagger call's outcome.
type result struct {
	out  string
	err  error
	took time.Duration
}

// dagger runs the dagger CLI in dir with extra env.
func dagger(t testing.TB, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return result{out: strings.TrimSpace(string(out)), err: err, took: time.Since(start)}
}

// goship calls a function of the goship module (this checkout) on source.
func goship(t testing.TB, source string, env []string, args ...string) result {
	t.Helper()
	root := testworld.RepoRoot(t)
	base := append([]string{"call", "-m", root, "--source=" + source}, engineArgs()...)
	return dagger(t, root, env, append(base, args...)...)
}

// must fails t unless r succeeded, and returns its last output line (the
// function's result).
func must(t testing.TB, r result, what string) string {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v\n%s", what, r.err, tail(r.out, 6000))
	}
	lines := strings.Split(r.out, "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// mustFail fails t unless r failed with every one of wants in its output.
func mustFail(t testing.TB, r result, what string, wants ...string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("%s succeeded; want a failure\n%s", what, tail(r.out, 4000))
	}
	for _, w := range wants {
		if !strings.Contains(r.out, w) {
			t.Fatalf("%s failed without %q in its output:\n%s", what, w, tail(r.out, 6000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// hello copies examples/hello-service into a fresh directory, so a test
// can change it.
func hello(t testing.TB) string {
	t.Helper()
	dst := filepath.Join(testworld.Dir(t, "src"), "hello-service")
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy hello-service: %v %s", err, out)
	}
	return dst
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// junitSuite is what the tests read of a JUnit report's test suites.
type junitSuite struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
}

// readJUnit reads the test suites of the JUnit report at path; none is
// a failure.
func readJUnit(t testing.TB, path string) []junitSuite {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Suites []junitSuite `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &report); err != nil || len(report.Suites) == 0 {
		t.Fatalf("junit.xml: %v\n%.2000s", err, data)
	}
	return report.Suites
}

// getEventually GETs url until it answers 200 and returns the body.
func getEventually(t testing.TB, url string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return strings.TrimSpace(string(b))
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
