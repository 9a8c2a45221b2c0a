package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/goship-dev/goship/pipeline/job"
)

// hostsJob is a deploy job for one docker host, its key and known_hosts
// written to files as the module mounts them.
func hostsJob(t *testing.T, d job.Deploy) job.Job {
	t.Helper()
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	key, known := filepath.Join(dir, "key"), filepath.Join(dir, "known_hosts")
	writeFile(t, key, string(pem.EncodeToMemory(block)))
	writeFile(t, known, "web1.example.com "+string(ssh.MarshalAuthorizedKey(sshPub)))
	return job.Job{Verb: job.VerbDeploy, Check: true, Run: job.Run{App: "hello", Version: "1.0.0", Who: "test", Port: 8080},
		Target: &job.Target{Hosts: &job.Hosts{Addrs: []string{"web1.example.com"}, Key: key, KnownHosts: known}}, Deploy: &d}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const testImage = "registry.example.com/team/hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// A checked job touches nothing: these hosts do not exist, so any dial
// would fail the test.
func TestCheckRefusesBadInputBeforeAnyConnection(t *testing.T) {
	tests := []struct {
		name string
		d    job.Deploy
		want string // "" for a valid deployment
	}{
		{"valid", job.Deploy{Image: testImage, Compose: &job.Compose{Publish: "8080:8080"}}, ""},
		{"cluster settings on a server", job.Deploy{Image: testImage, Kube: &job.Kube{Replicas: 3}}, "cluster settings"},
		{"unknown strategy", job.Deploy{Image: testImage, Strategy: "canary"}, "unknown deploy strategy"},
		{"bad publish", job.Deploy{Image: testImage, Compose: &job.Compose{Publish: "eighty:8080"}}, "publish"},
		{"half the pull credentials", job.Deploy{Image: testImage, Pull: &job.Credentials{Username: "me"}}, "go together"},
		{"proxy settings without blue-green", job.Deploy{Image: testImage, Strategy: "recreate", Compose: &job.Compose{Proxy: &job.Proxy{Host: "a.example.com"}}}, "blue-green"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Runner{}.Run(context.Background(), hostsJob(t, tt.d))
			switch {
			case tt.want == "" && res.Error != "":
				t.Fatalf("a valid deployment was refused: %s", res.Error)
			case tt.want != "" && !strings.Contains(res.Error, tt.want):
				t.Fatalf("error %q, want one naming %q", res.Error, tt.want)
			}
		})
	}
}

func TestTargetIsChosenOnce(t *testing.T) {
	j := hostsJob(t, job.Deploy{Image: testImage})
	j.Target.Cluster = &job.Cluster{Kubeconfig: "/nonexistent"}
	if res := (Runner{}).Run(context.Background(), j); !strings.Contains(res.Error, "one target at a time") {
		t.Fatalf("both targets: %q", res.Error)
	}
	j.Target = nil
	if res := (Runner{}).Run(context.Background(), j); !strings.Contains(res.Error, "no target") {
		t.Fatalf("no target: %q", res.Error)
	}
}

func TestDecodeRefusesUnknownSettings(t *testing.T) {
	if _, err := job.Decode([]byte(`{"verb":"deploy","deploy":{"image":"x","turbo":true}}`)); err == nil || !strings.Contains(err.Error(), "turbo") {
		t.Fatalf("Decode = %v, want a refusal naming the unknown field", err)
	}
}

func TestSecretFilesLoseTheirTrailingNewline(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	writeFile(t, p, "s3cret\n")
	if got, err := secretText(p); err != nil || got != "s3cret" {
		t.Fatalf("secretText = %q, %v", got, err)
	}
}
