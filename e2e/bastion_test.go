//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// A server behind a bastion, through the module: the server's sshd
// listens on this machine's loopback, which the engine's containers
// cannot reach, so every verb (deploy with the image over SSH, its health
// gate's tunnel, status) must go through the bastion's sshd on the
// engine-facing address. Both hops are pinned in one known_hosts and log
// in with one key; a bastion whose key is not the pinned one is refused,
// and the refusal names the bastion.
func TestDeployThroughABastion(t *testing.T) {
	docker := testworld.NeedDocker(t)
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	bastion := testworld.StartSSHD(t)
	inner := testworld.StartSSHDOn(t, "127.0.0.1")
	signer, err := ssh.ParsePrivateKey(bastion.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	inner.Authorize(t, signer.PublicKey())

	dir := t.TempDir()
	key, known, wrong := filepath.Join(dir, "key"), filepath.Join(dir, "known_hosts"), filepath.Join(dir, "known_hosts_wrong")
	writeFile(t, key, string(bastion.ClientKeyPEM))
	writeFile(t, known, string(bastion.KnownHosts)+string(inner.KnownHosts))
	// The bastion's address pinned to the inner server's key: a bastion
	// that is not the one the team pinned.
	writeFile(t, wrong, strings.Replace(string(inner.KnownHosts), "[127.0.0.1]:"+strconv.Itoa(inner.Port), fmt.Sprintf("[%s]:%d", bastion.Host, bastion.Port), 1)+string(inner.KnownHosts))

	port := testworld.FreePort(t)
	testworld.RemoveImagesOnCleanup(t, localImages)
	t.Cleanup(func() { docker.RemoveComposeProject("hellojump") })
	server := func(knownHosts string, jump bool) []string {
		args := []string{"--app=hellojump", "--sha=" + sha, "--healthcheck=health", "server",
			"--host=" + inner.Addr(), "--user=" + inner.User, "--key=file://" + key,
			"--known-hosts=file://" + knownHosts, "--app-dir=" + inner.AppRoot + "/hellojump"}
		if jump {
			args = append(args, "--jump="+bastion.User+"@"+bastion.Addr())
		}
		return args
	}
	deploy := []string{"deployment", "--transfer=ssh", fmt.Sprintf("--publish=127.0.0.1:%d:8080", port), "with-health", "--timeout=60s", "run"}

	// Without the bastion the server is out of reach: the jump is what
	// makes the deploy below work.
	mustFail(t, goship(t, src, nil, append(server(known, false), "status")...), "status without --jump", inner.Addr())

	must(t, goship(t, src, nil, append(server(known, true), deploy...)...), "deploy through the bastion")
	if v := getEventually(t, fmt.Sprintf("http://127.0.0.1:%d/version", port)); !strings.Contains(v, "01234567") {
		t.Fatalf("/version after the deploy through the bastion = %q", v)
	}
	status := goship(t, src, nil, append(server(known, true), "status")...)
	must(t, status, "status through the bastion")
	if !strings.Contains(status.out, "OK: release") {
		t.Fatalf("status through the bastion:\n%s", status.out)
	}

	mustFail(t, goship(t, src, nil, append(server(wrong, true), "status")...), "status through a bastion with another host key", "bastion "+bastion.Addr())
}
