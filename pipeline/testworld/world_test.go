package testworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/registry"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The whole foundation in one pass: an image built here, pushed with
// credentials to the real registry, pulled and run by the real dockerd.
func TestHelloV1RunsFromAuthenticatedRegistry(t *testing.T) {
	reg := StartRegistry(t)
	docker := NeedDocker(t)
	ref := reg.Push(t, HelloImage(t, "v1", false), "goship/hello:v1")

	docker.Login(t, reg)
	docker.Run(t, nil, "pull", ref.String())
	port := FreePort(t)
	name := fmt.Sprintf("goship-world-%d", port)
	docker.RemoveContainer(t, name)
	docker.Run(t, nil, "run", "-d", "--name", name, "-p", fmt.Sprintf("127.0.0.1:%d:%d", port, HelloPort), ref.String())

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body := httpGetEventually(t, base+"/healthz", 20*time.Second); code != http.StatusOK {
		t.Fatalf("/healthz = %d %q, want 200", code, body)
	}
	if code, body := httpGetEventually(t, base+"/version", 5*time.Second); code != http.StatusOK || strings.TrimSpace(body) != "v1" {
		t.Fatalf("/version = %d %q, want 200 v1", code, body)
	}
	// The image runs as the non-root user goship promises.
	if user := docker.Run(t, nil, "inspect", "--format", "{{.Config.User}}", name); user != "65532:65532" {
		t.Fatalf("container user = %q, want 65532:65532", user)
	}
}

func TestWrongRegistryPasswordIsAClearError(t *testing.T) {
	reg := StartRegistry(t)
	host, err := registry.ParseHost(reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := registry.NewRepository(host, "goship", "hello")
	if err != nil {
		t.Fatal(err)
	}
	wrong := "not-" + reg.Password
	start := time.Now()
	err = registry.CheckCredentials(context.Background(), repo, registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: wrong}))
	if !errors.Is(err, registry.ErrCredentialsRefused) {
		t.Fatalf("CheckCredentials with a wrong password = %v, want ErrCredentialsRefused", err)
	}
	want := "registry refused credentials for goship@" + reg.Host
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatal("error message contains the password")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("refusal took %s; it must fail fast", took)
	}
	if err := registry.CheckCredentials(context.Background(), repo, registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: reg.Password})); err != nil {
		t.Fatalf("CheckCredentials with the right password: %v", err)
	}
}

func TestSSHDAcceptsDeployKeyOnly(t *testing.T) {
	srv := StartSSHD(t)
	if len(srv.KnownHosts) == 0 || !strings.Contains(string(srv.KnownHosts), fmt.Sprintf("[127.0.0.1]:%d", srv.Port)) {
		t.Fatalf("known_hosts line %q does not name the server", srv.KnownHosts)
	}
	if err := sshRun(srv, srv.ClientKeyPEM, "id -nG"); err != nil {
		t.Fatalf("deploy key refused: %v", err)
	}
	if err := sshRun(srv, NewClientKey(t), "true"); err == nil {
		t.Fatal("an unauthorized key was accepted")
	}
}

func httpGetEventually(t *testing.T, url string, within time.Duration) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK || time.Now().After(deadline) {
				return resp.StatusCode, string(body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sshRun runs cmd as the deploy user with key, checking the host key
// against the world's known_hosts line, and expects the docker group.
func sshRun(srv *SSHServer, key []byte, cmd string) error {
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	hostKeys, err := knownhostsCallback(srv.KnownHosts)
	if err != nil {
		return err
	}
	client, err := ssh.Dial("tcp", srv.Addr(), &ssh.ClientConfig{
		User: srv.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKeys, Timeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	defer func() { _ = client.Close() }()
	sess, err := client.NewSession()
	if err != nil {
		return err
	}
	out, err := sess.CombinedOutput(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", cmd, err, out)
	}
	if strings.HasPrefix(cmd, "id") && !strings.Contains(string(out), "docker") {
		return fmt.Errorf("deploy user is not in the docker group: %s", out)
	}
	return nil
}

func knownhostsCallback(line []byte) (ssh.HostKeyCallback, error) {
	f, err := writeTemp(line)
	if err != nil {
		return nil, err
	}
	return knownhosts.New(f)
}
