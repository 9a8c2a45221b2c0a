//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

const (
	sha     = "0123456789abcdef0123456789abcdef01234567"
	created = "2026-01-02T03:04:05Z"
	vulnLib = "example.com/vulnlib"
)

var runContext = []string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created}

// Every check of the chain on the sample service, and what it returns.
func TestChecksOnHelloService(t *testing.T) {
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	must(t, goship(t, src, nil, "lint"), "lint")

	dir := t.TempDir()
	must(t, goship(t, src, nil, "test", "export", "--path="+dir), "test")
	suites := readJUnit(t, filepath.Join(dir, "junit.xml"))
	for _, s := range suites {
		if s.Name == "" || s.Tests == 0 {
			t.Errorf("junit.xml has a suite %q with %d tests", s.Name, s.Tests)
		}
	}
	for _, f := range []string{"coverage.out", "test.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	// A mirror of Trivy's DB behind a private CA, as users behind the
	// firewall run one: the vulnerability scanner runs for real, offline.
	db := testworld.StartRegistry(t, testworld.WithTLS(), testworld.Anonymous())
	dbRef := db.PushTrivyDB(t, "goship/trivy-db", "GOSHIP-2026-0001", vulnLib, "<1.0.1", "1.0.1")
	scanArgs := []string{"--trivy-db-repository=" + dbRef, "--registry-ca=" + db.CAFile}
	reports := t.TempDir()
	must(t, goship(t, src, nil, append(scanArgs, "scan", "export", "--path="+reports)...), "scan")
	for _, f := range []string{"trivy.json", "trivy.sarif", "sbom.cdx.json", "summary.md"} {
		if _, err := os.Stat(filepath.Join(reports, f)); err != nil {
			t.Error(err)
		}
	}
	must(t, goship(t, src, nil, append(scanArgs, "ci")...), "ci")
}

// The runtime image: it runs, reports the stamped version, runs as
// non-root, carries its labels and is barely larger than the binary.
func TestBuildRunsAndIsSmall(t *testing.T) {
	docker := testworld.NeedDocker(t)
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	dir := t.TempDir()
	must(t, goship(t, src, nil, append(runContext, "binary", "export", "--path="+filepath.Join(dir, "hello"))...), "binary")
	must(t, goship(t, src, nil, append(runContext, "--healthcheck=health", "build", "export", "--path="+filepath.Join(dir, "image.tar"))...), "build")
	loaded := docker.Run(t, nil, "load", "-q", "-i", filepath.Join(dir, "image.tar"))
	id := strings.TrimSpace(loaded[strings.LastIndex(loaded, " ")+1:])
	t.Cleanup(func() { _, _ = docker.Try(nil, "image", "rm", "-f", id) })
	port := testworld.FreePort(t)
	name := fmt.Sprintf("goship-e2e-%d", port)
	docker.RemoveContainer(t, name)
	docker.Run(t, nil, "run", "-d", "--name", name, "-p", fmt.Sprintf("%s:%d:8080", testworld.ListenHost(), port), id)
	if got := getEventually(t, fmt.Sprintf("http://%s:%d/version", testworld.ListenHost(), port)); !strings.Contains(got, "0.0.0-20260102030405-01234567") {
		t.Fatalf("/version = %q: the default link vars did not stamp main.version", got)
	}
	bin, err := os.Stat(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	_, _ = fmt.Sscan(docker.Run(t, nil, "image", "inspect", "--format", "{{.Size}}", id), &size)
	if size > bin.Size()+1<<20 {
		t.Fatalf("image is %d bytes, binary %d: more than 1 MiB of overhead", size, bin.Size())
	}
	if user := docker.Run(t, nil, "inspect", "--format", "{{.Config.User}}", name); user != "65532:65532" {
		t.Fatalf("user = %q", user)
	}
	labels := docker.Run(t, nil, "inspect", "--format", "{{json .Config.Labels}}", name)
	if !strings.Contains(labels, `"org.opencontainers.image.revision":"`+sha+`"`) || strings.Contains(labels, "image.source") {
		t.Fatalf("labels = %s: want the revision, and no source label without a git remote", labels)
	}
	if hc := docker.Run(t, nil, "inspect", "--format", "{{json .Config.Healthcheck.Test}}", name); !strings.Contains(hc, "health") {
		t.Fatalf("healthcheck = %s", hc)
	}
}

// A planted HIGH finding fails scan and ci and is named; the fixed
// dependency passes. The dependency comes from a Go proxy of the test
// world, the advisory from a DB mirror behind a private CA.
func TestScanGateOnPlantedHigh(t *testing.T) {
	src := hello(t)
	proxy := testworld.ServeGoModuleProxy(t, testworld.GoModuleProxy(t, vulnLib, "v1.0.0", "v1.0.1"))
	useDependency(t, src, proxy, "v1.0.0")
	db := testworld.StartRegistry(t, testworld.WithTLS(), testworld.Anonymous())
	dbRef := db.PushTrivyDB(t, "goship/trivy-db", "GOSHIP-2026-0001", vulnLib, "<1.0.1", "1.0.1")
	args := []string{"--goproxy=" + proxy, "--trivy-db-repository=" + dbRef, "--registry-ca=" + db.CAFile}

	mustFail(t, goship(t, src, nil, append(args, "ci")...), "ci with a vulnerable dependency", "GOSHIP-2026-0001", vulnLib)
	useDependency(t, src, proxy, "v1.0.1")
	must(t, goship(t, src, nil, append(args, "ci")...), "ci with the fixed dependency")
}

// useDependency makes hello import vulnLib at version, with go.sum
// written by the real go command from the test world's proxy.
func useDependency(t *testing.T, src, proxy, version string) {
	t.Helper()
	writeFile(t, filepath.Join(src, "cmd/hello/vuln.go"), "package main\n\nimport lib \""+vulnLib+"\"\n\nvar _ = lib.Version\n")
	cmd := exec.Command("sh", "-c", "go mod edit -require="+vulnLib+"@"+version+" && go mod tidy")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOPROXY="+proxy, "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off", "GOMODCACHE="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
}

// Anything that changes a cache key between identical calls (time, map
// order, absolute paths) is a bug: the second of two identical ci calls
// must run no container at all.
func TestIdenticalCiCallsAreACacheHit(t *testing.T) {
	src := hello(t)
	// A tree no earlier run has seen, so the first call does real work.
	writeFile(t, filepath.Join(src, "internal/server/cachekey.go"),
		fmt.Sprintf("package server\n\n// CacheKeyProbe makes this tree unique.\nconst CacheKeyProbe = %d\n", time.Now().UnixNano()))
	execs := regexp.MustCompile(`Container\.withExec DONE`)
	root := testworld.RepoRoot(t)
	ci := func() result {
		args := append([]string{"--progress=plain", "call", "-m", root, "--source=" + src}, engineArgs()...)
		return dagger(t, root, nil, append(args, "--scanners=secret", "ci")...)
	}
	first := ci()
	must(t, first, "first ci")
	if !execs.MatchString(stripANSI(first.out)) {
		t.Fatalf("the first ci ran no container; the test cannot tell a cache hit:\n%s", tail(first.out, 3000))
	}
	second := ci()
	must(t, second, "second ci")
	if ran := execs.FindAllString(stripANSI(second.out), -1); len(ran) > 0 {
		t.Fatalf("an identical second ci ran %d container(s): something in a cache key changes between calls\n%s", len(ran), tail(second.out, 6000))
	}
	t.Logf("first ci %s, identical second ci %s", first.took.Round(time.Millisecond), second.took.Round(time.Millisecond))
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func stripANSI(s string) string { return ansi.ReplaceAllString(s, "") }
