//go:build e2e

// Package e2e drives goship through the dagger CLI against
// examples/hello-service, the test world's registry and its sshd/dockerd.
// It needs a Dagger v0.21.0 engine, which the engine-free suite does not:
//
//	go test -tags e2e -count=1 -timeout 60m ./e2e/...
//
// Environment:
//
//	GOSHIP_E2E_MIRROR          registry prefix holding golang, golangci-lint and trivy
//	                           (copied by digest), so no image comes from the internet
//	GOSHIP_E2E_ENGINE_HOST     how the engine reaches this machine's loopback services
//	                           (default 127.0.0.1: run the engine with host networking)
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

	"github.com/goship-dev/goship/internal/testworld"
	"github.com/goship-dev/goship/pipeline/registry"
)

const helloVars = "example.com/hello-service/internal/buildinfo.Version={{version}},example.com/hello-service/internal/buildinfo.Commit={{commit}},example.com/hello-service/internal/buildinfo.Date={{date}}"

// call runs `dagger call` on the goship module with hello-service as source.
func call(t *testing.T, env []string, args ...string) string {
	t.Helper()
	root := testworld.RepoRoot(t)
	base := []string{"call", "-m", root, "--source=" + filepath.Join(root, "examples/hello-service"),
		"--sha=0123456789abcdef0123456789abcdef01234567", "--ref=refs/heads/main", "--created=2026-01-02T03:04:05Z",
		"--link-vars=" + helloVars, "--healthcheck=health"}
	if m := os.Getenv("GOSHIP_E2E_MIRROR"); m != "" {
		base = append(base, "--mirror="+m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "dagger", append(base, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dagger %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func engineHost(hostPort string) string {
	if h := os.Getenv("GOSHIP_E2E_ENGINE_HOST"); h != "" {
		_, port, _ := strings.Cut(hostPort, ":")
		return h + ":" + port
	}
	return hostPort
}

func TestChecks(t *testing.T) {
	call(t, nil, "lint")
	dir := t.TempDir()
	call(t, nil, "test", "export", "--path="+dir)
	data, err := os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil || len(suites.Suites) == 0 {
		t.Fatalf("junit.xml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "coverage.out")); err != nil {
		t.Fatal(err)
	}
	reports := t.TempDir()
	call(t, nil, "scan", "export", "--path="+reports)
	if _, err := os.Stat(filepath.Join(reports, "trivy.sarif")); err != nil {
		t.Fatal(err)
	}
	call(t, nil, "ci")
}

func TestBuildRunsAndIsSmall(t *testing.T) {
	docker := testworld.NeedDocker(t)
	dir := t.TempDir()
	call(t, nil, "binary", "export", "--path="+filepath.Join(dir, "hello"))
	call(t, nil, "build", "export", "--path="+filepath.Join(dir, "image.tar"))
	loaded := docker.Run(t, nil, "load", "-q", "-i", filepath.Join(dir, "image.tar"))
	id := strings.TrimSpace(loaded[strings.LastIndex(loaded, " ")+1:])
	port := testworld.FreePort(t)
	name := fmt.Sprintf("goship-e2e-%d", port)
	docker.RemoveContainer(t, name)
	docker.Run(t, nil, "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), id)
	if got := getEventually(t, fmt.Sprintf("http://127.0.0.1:%d/version", port)); !strings.HasPrefix(got, "0.0.0-20260102030405-01234567") {
		t.Fatalf("/version = %q", got)
	}
	bin, _ := os.Stat(filepath.Join(dir, "hello"))
	size := docker.Run(t, nil, "image", "inspect", "--format", "{{.Size}}", id)
	var imageSize int64
	_, _ = fmt.Sscan(size, &imageSize)
	if imageSize > bin.Size()+1<<20 {
		t.Fatalf("image is %d bytes, binary %d: more than 1 MiB of overhead", imageSize, bin.Size())
	}
	if user := docker.Run(t, nil, "inspect", "--format", "{{.Config.User}}", name); user != "65532:65532" {
		t.Fatalf("user = %q", user)
	}
}

func TestPublishDeployRelease(t *testing.T) {
	reg := testworld.StartRegistry(t)
	srv := testworld.StartSSHD(t)
	testworld.NeedDocker(t)
	dir := t.TempDir()
	key, known := filepath.Join(dir, "key"), filepath.Join(dir, "known_hosts")
	_ = os.WriteFile(key, srv.ClientKeyPEM, 0o600)
	_ = os.WriteFile(known, srv.KnownHosts, 0o600)
	env := []string{"REG_PASSWORD=" + reg.Password}
	regHost := engineHost(reg.Host)

	ref := call(t, env, "publish", "--registry-host="+regHost, "--namespace=goship", "--repository=hello",
		"--username="+reg.Username, "--password=env://REG_PASSWORD")
	ref = ref[strings.LastIndex(ref, "\n")+1:]
	if !strings.Contains(ref, "@sha256:") {
		t.Fatalf("publish returned %q", ref)
	}
	if _, err := registry.Verify(context.Background(), reg.Host+"/goship/hello", ref[strings.Index(ref, "@")+1:], []string{"latest"},
		registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: reg.Password})); err != nil {
		t.Fatal(err)
	}

	port := testworld.FreePort(t)
	deployArgs := []string{"--host=" + strings.Split(engineHost(srv.Addr()), ":")[0], fmt.Sprintf("--port=%d", srv.Port), "--user=" + srv.User,
		"--key=file://" + key, "--known-hosts=file://" + known, "--app-dir=" + srv.AppRoot + "/hello",
		fmt.Sprintf("--publish=127.0.0.1:%d:8080", port)}
	call(t, env, append([]string{"deploy", "--image=" + strings.Replace(ref, regHost, reg.Host, 1),
		"--registry-username=" + reg.Username, "--registry-password=env://REG_PASSWORD"}, deployArgs...)...)
	if got := getEventually(t, fmt.Sprintf("http://127.0.0.1:%d/version", port)); !strings.HasPrefix(got, "0.0.0-") {
		t.Fatalf("/version after deploy = %q", got)
	}
	out := call(t, env, append([]string{"releases"}, deployArgs[:6]...)...)
	if !strings.Contains(out, "healthy") {
		t.Fatalf("releases:\n%s", out)
	}
	call(t, env, append([]string{"release", "--registry-host=" + regHost, "--namespace=goship", "--repository=hello",
		"--username=" + reg.Username, "--password=env://REG_PASSWORD"}, deployArgs...)...)
}

func getEventually(t *testing.T, url string) string {
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
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
