//go:build e2e && oldsign

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goship-dev/goship/internal/testworld"
	"github.com/goship-dev/goship/pipeline/sign"
)

// Signed releases through the module: publish signs with a key made by
// cosign, cosign's own verifier accepts the signature and the gate
// attestation, verify names the signer and the gate, and a server with
// --verify-key runs only what that key signed: an unsigned digest and one
// signed by another key are refused with the running release untouched,
// and so is a rollback to an unsigned release unless --allow-unsigned.
// Last, release signs and deploys with verification in one run.
func TestSignedReleases(t *testing.T) {
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	reg := testworld.StartRegistry(t, testworld.WithTLS())
	reg.TrustForDocker(t)
	srv := startServer(t)
	// An app name of its own: its compose project never meets another
	// test's "hello" on the shared dockerd.
	t.Cleanup(func() { testworld.NeedDocker(t).RemoveComposeProject("hellosigned") })
	keys := t.TempDir()
	const password = "e2e cosign password"
	cosign := cosignFor(t, reg, keys, password)
	cosign.run(t, "generate-key-pair", "--output-key-prefix", "cosign")
	pub := filepath.Join(keys, "cosign.pub")
	other := filepath.Join(keys, "other.key")
	otherPub := filepath.Join(keys, "other.pub")
	openssl(t, "sh", "-c", "openssl ecparam -genkey -name prime256v1 -noout | openssl pkcs8 -topk8 -nocrypt -out "+other)
	openssl(t, "openssl", "ec", "-in", other, "-pubout", "-out", otherPub)

	env := []string{"REG_PASSWORD=" + reg.Password, "COSIGN_PASSWORD=" + password}
	call := func(created string, args ...string) result {
		base := []string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created, "--registry-ca=" + reg.CAFile,
			"--healthcheck=health", "--scanners=secret", "--app=hellosigned"}
		return goship(t, src, env, append(base, args...)...)
	}
	registryArgs := []string{"--registry-host=" + reg.Host, "--namespace=goship", "--repository=hello", "--username=" + reg.Username, "--password=env://REG_PASSWORD"}
	publish := func(created string, extra ...string) string {
		r := call(created, append(append([]string{"publish"}, registryArgs...), extra...)...)
		return must(t, r, "publish "+strings.Join(extra, " "))
	}
	verify := func(image string) result {
		return call("2026-05-01T00:00:00Z", "verify", "--image="+image, "--key="+pub, "--username="+reg.Username, "--password=env://REG_PASSWORD")
	}
	const run = "https://ci.example/goship/hello/actions/runs/42"
	signed := publish("2026-01-01T00:00:00Z", "--sign-key=file://"+filepath.Join(keys, "cosign.key"), "--sign-password=env://COSIGN_PASSWORD", "--workflow-run="+run)
	unsigned := publish("2026-02-01T00:00:00Z")
	byOther := publish("2026-03-01T00:00:00Z", "--sign-key=file://"+other)

	// cosign's verifier accepts goship's signature and its attestations.
	claims := cosign.run(t, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--trusted-root", cosign.trustedRoot, signed)
	if !strings.Contains(claims, digestOf(signed)) {
		t.Errorf("cosign verify output does not name the digest:\n%s", claims)
	}
	for _, typ := range []string{sign.GatePredicateType, "cyclonedx", "vuln"} {
		out := cosign.run(t, "verify-attestation", "--key", pub, "--insecure-ignore-tlog=true", "--trusted-root", cosign.trustedRoot, "--type", typ, signed)
		if !strings.Contains(out, "payload") {
			t.Errorf("cosign verify-attestation --type %s printed no envelope:\n%s", typ, out)
		}
	}

	v := verify(signed)
	must(t, v, "verify --image")
	for _, want := range []string{"verified " + signed, "signer key:", "commit:         " + sha, "workflow run:   " + run, "goship version: dev", "gate:           passed"} {
		if !strings.Contains(v.out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, tail(v.out, 3000))
		}
	}
	mustFail(t, verify(unsigned), "verify of an unsigned digest", "no signature for this digest", digestOf(unsigned))

	on := func(created string, verifyKey bool, fn string, args ...string) result {
		chain := append([]string{"server"}, srv.args...)
		if verifyKey {
			chain = append(chain, "--verify-key="+pub)
		}
		return call(created, append(append(chain, fn), args...)...)
	}
	pull := []string{"--registry-username=" + reg.Username, "--registry-password=env://REG_PASSWORD"}
	deploy := func(verifyKey bool, image string) result {
		return on("2026-05-01T00:00:00Z", verifyKey, "deploy", append(append([]string{"--image=" + image}, srv.app...), pull...)...)
	}
	// The unsigned release runs first, deployed without verification:
	// it is what a rollback finds later.
	must(t, deploy(false, unsigned), "deploy of the unsigned release without --verify-key")
	must(t, deploy(true, signed), "deploy of the signed release with --verify-key")
	v1 := getEventually(t, srv.url+"/version")
	if !strings.Contains(v1, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after the verified deploy = %q", v1)
	}

	mustFail(t, deploy(true, unsigned), "deploy of an unsigned digest", "deploy refused before any host was touched", "no signature for this digest", digestOf(unsigned))
	mustFail(t, deploy(true, byOther), "deploy of a digest signed by another key", "does not verify with key", digestOf(byOther))
	mustFail(t, on("2026-05-01T00:00:00Z", true, "deploy", "--transfer=ssh"), "deploy --transfer=ssh with --verify-key", "no registry signature")
	if v := getEventually(t, srv.url+"/version"); v != v1 {
		t.Fatalf("/version after the refusals = %q, want %q: a refusal must leave the running release alone", v, v1)
	}

	mustFail(t, on("2026-05-01T00:00:00Z", true, "rollback", pull...), "rollback to the unsigned release", "refused, nothing changed", "no signature for this digest", digestOf(unsigned))
	if v := getEventually(t, srv.url+"/version"); v != v1 {
		t.Fatalf("/version after the refused rollback = %q, want %q", v, v1)
	}
	must(t, on("2026-05-01T00:00:00Z", true, "rollback", "--allow-unsigned"), "rollback --allow-unsigned")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after rollback --allow-unsigned = %q, want the unsigned release", v)
	}

	// release signs as it publishes, then verifies before it deploys:
	// with another key's public half it publishes and refuses to deploy.
	release := func(verifyKey string) result {
		args := append(append([]string{"server"}, srv.args...), "--verify-key="+verifyKey, "release")
		args = append(append(args, registryArgs...), "--publish="+strings.TrimPrefix(srv.app[0], "--publish="),
			"--sign-key=file://"+filepath.Join(keys, "cosign.key"), "--sign-password=env://COSIGN_PASSWORD")
		return call("2026-04-01T00:00:00Z", args...)
	}
	mustFail(t, release(otherPub), "release verified with another key", "but the deploy failed", "deploy refused before any host was touched", "does not verify with key")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after the refused release = %q, want the release that ran before", v)
	}
	released := must(t, release(pub), "release with signing and verification")
	must(t, verify(released), "verify of what release published")
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260401000000-01234567") {
		t.Fatalf("/version after the signed release = %q", v)
	}
}

// digestOf is the sha256:… of repo@sha256:….
func digestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}

// cosignCLI is the pinned cosign, offline, trusting the registry's CA and
// logged in to it.
type cosignCLI struct {
	bin, dir, trustedRoot string
	env                   []string
}

func cosignFor(t *testing.T, reg *testworld.Registry, dir, password string) *cosignCLI {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{reg.Host: map[string]string{"auth": auth}}})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "docker", "config.json"), string(cfg))
	// An empty trusted root: key-based verification needs no Sigstore
	// keys, and offline there are none to fetch.
	root := filepath.Join(home, "trusted_root.json")
	writeFile(t, root, `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	return &cosignCLI{bin: testworld.Tool(t, "cosign"), dir: dir, trustedRoot: root, env: []string{
		"HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=" + reg.Host,
		"DOCKER_CONFIG=" + filepath.Join(home, "docker"), "SSL_CERT_FILE=" + reg.CAFile,
		"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "COSIGN_PASSWORD=" + password,
	}}
}

// run runs cosign in its key directory and returns its stdout.
func (c *cosignCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// openssl runs a key-making command line.
func openssl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
