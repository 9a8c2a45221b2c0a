//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/sign/signtest"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// Signed releases through the module, with the repository's policy:
// publish --sign-key refuses a release whose ci failed; a signed release
// passes cosign v3's and v2's own verifiers; verify names the commit and
// every ci step; a server deploys only what the policy's key signed,
// refuses an unsigned image and a gate older than the policy's maxAge
// before anything is touched; it remembers that it runs verified releases
// when the policy is gone, until a deploy says why it skips verification;
// release signs only after a passing ci and deploys verified.
func TestSignedReleaseThroughTheModule(t *testing.T) {
	src := hello(t)
	reg := testworld.StartRegistry(t, testworld.WithTLS())
	reg.TrustForDocker(t)
	world := signtest.FromRegistry(t, reg)
	srv := startServer(t)
	t.Cleanup(func() { testworld.NeedDocker(t).RemoveComposeProject("hellosigned") })
	const password = "e2e cosign password"
	cosign3 := signtest.NewCosign(t, world, "cosign3", 3, password)
	cosign2 := signtest.NewCosign(t, world, "cosign", 2, password)
	cosign3.MustRun(t, "generate-key-pair", "--output-key-prefix", "release")
	key, pub := filepath.Join(cosign3.Dir, "release.key"), filepath.Join(cosign3.Dir, "release.pub")
	pubPEM, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, ".goship", "release.pub"), string(pubPEM))
	policyFile := filepath.Join(src, ".goship", "policy.yaml")
	writePolicy := func(maxAge string) {
		writeFile(t, policyFile, "keys:\n  - name: release\n    path: .goship/release.pub\nimages: [\""+reg.Host+"/goship/**\"]\nrequire: [slsaprovenance1, cyclonedx, vuln]\nmaxAge: "+maxAge+"\n")
	}

	env := []string{"REG_PASSWORD=" + reg.Password, "COSIGN_PASSWORD=" + password}
	call := func(created string, args ...string) result {
		base := []string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created, "--registry-ca=" + reg.CAFile,
			"--healthcheck=health", "--scanners=secret", "--app=hellosigned"}
		return goship(t, src, env, append(base, args...)...)
	}
	registryArgs := []string{"--registry-host=" + reg.Host, "--namespace=goship", "--repository=hellosigned", "--username=" + reg.Username, "--password=env://REG_PASSWORD"}
	signing := []string{"--sign-key=file://" + key, "--sign-password=env://COSIGN_PASSWORD", "--workflow-run=https://ci.example/hello/actions/runs/42"}
	publish := func(created string, extra ...string) result {
		return call(created, append(append([]string{"publish"}, registryArgs...), extra...)...)
	}

	// The gate is ci: a failing test, and nothing is signed or pushed.
	failing := filepath.Join(src, "internal", "server", "zz_fail_test.go")
	writeFile(t, failing, "package server\n\nimport \"testing\"\n\nfunc TestFailsOnPurpose(t *testing.T) { t.Fatal(\"on purpose\") }\n")
	mustFail(t, publish("2026-01-01T00:00:00Z", signing...), "publish --sign-key after a failing test",
		"publish --sign-key signs only a release whose ci passed", "TestFailsOnPurpose")
	if err := os.Remove(failing); err != nil {
		t.Fatal(err)
	}

	signed := must(t, publish("2026-01-01T00:00:00Z", signing...), "publish --sign-key")
	unsigned := must(t, publish("2026-02-01T00:00:00Z"), "publish without a key")

	// cosign's own verifiers read what goship wrote.
	for _, c := range []*signtest.Cosign{cosign3, cosign2} {
		c.MustRun(t, append(append([]string{"verify"}, c.VerifyFlags(pub)...), signed)...)
		for _, typ := range []string{"slsaprovenance1", "cyclonedx", "vuln"} {
			c.MustRun(t, append(append([]string{"verify-attestation", "--type", typ}, c.VerifyFlags(pub)...), signed)...)
		}
	}

	writePolicy("30d")
	v := call("2026-05-01T00:00:00Z", "verify", "--image="+signed, "--username="+reg.Username, "--password=env://REG_PASSWORD")
	must(t, v, "verify by the policy")
	for _, want := range []string{"verified " + signed, "commit:         " + sha, "https://ci.example/hello/actions/runs/42", "lint passed", "test passed", "scan linux/amd64 passed"} {
		if !strings.Contains(v.out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, tail(v.out, 3000))
		}
	}

	on := func(created string, chain ...string) result {
		return call(created, append(append([]string{"server"}, srv.args...), chain...)...)
	}
	// deploy is `deployment --image=… <flags and chain…> run`.
	deploy := func(image string, chain ...string) result {
		args := append([]string{"deployment", "--image=" + image, srv.publish, "--registry-username=" + reg.Username, "--registry-password=env://REG_PASSWORD"}, chain...)
		return on("2026-05-01T00:00:00Z", append(args, "run")...)
	}
	mustFail(t, deploy(unsigned), "deploy of an unsigned image under the policy", "deploy refused before anything was touched", digestOf(unsigned))
	// A signed app with an unsigned sidecar: every service's image is
	// checked, before anything is touched.
	sidecar := filepath.Join(t.TempDir(), "compose.yaml")
	writeFile(t, sidecar, "services:\n  app:\n    image: placeholder\n    ports: [\""+strings.TrimPrefix(srv.publish, "--publish=")+"\"]\n  cache:\n    image: "+unsigned+"\n    command: [\"version\"]\n")
	mustFail(t, deploy(signed, "--compose="+sidecar), "a signed app with an unsigned sidecar", "deploy refused before anything was touched", digestOf(unsigned))
	// Nothing was touched: the server has no release of the app at all.
	mustFail(t, on("2026-05-01T00:00:00Z", "status"), "status after refused deploys only", "has never been deployed")
	must(t, deploy(signed), "deploy of the signed image under the policy")
	v1 := getEventually(t, srv.url+"/version")
	if !strings.Contains(v1, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after the verified deploy = %q", v1)
	}

	// A gate older than maxAge is refused: the same signed digest, a
	// policy that now allows 5 seconds.
	writePolicy("5s")
	time.Sleep(6 * time.Second)
	mustFail(t, deploy(signed), "deploy of a gate older than the policy's maxAge", "deploy refused before anything was touched", "old")

	// The server remembers: without the policy file, an unverified deploy
	// is refused, naming the policy, unless it says why.
	if err := os.Remove(policyFile); err != nil {
		t.Fatal(err)
	}
	mustFail(t, deploy(unsigned), "an unverified deploy to a server that took a verified release", ".goship/policy.yaml")
	if v := getEventually(t, srv.url+"/version"); v != v1 {
		t.Fatalf("/version after the refusals = %q, want %q", v, v1)
	}
	must(t, deploy(unsigned, "with-unverified", "--reason=e2e: an unsigned hotfix"), "with-unverified")

	// release: ci, publish signed, deploy verified, in one call.
	writePolicy("30d")
	released := must(t, on("2026-04-01T00:00:00Z", append([]string{"deployment", srv.publish, "release"}, append(registryArgs, signing...)...)...), "release with signing under the policy")
	if !strings.Contains(released, reg.Host+"/goship/hellosigned@sha256:") {
		t.Fatalf("release returned %q", released)
	}
	if v := getEventually(t, srv.url+"/version"); !strings.Contains(v, "0.0.0-20260401000000-01234567") {
		t.Fatalf("/version after the signed release = %q", v)
	}
	cip := call("2026-05-01T00:00:00Z", "cluster-image-policy", "contents")
	must(t, cip, "cluster-image-policy")
	if !strings.Contains(cip.out, "kind: ClusterImagePolicy") || !strings.Contains(cip.out, "BEGIN PUBLIC KEY") {
		t.Fatalf("cluster-image-policy:\n%s", tail(cip.out, 3000))
	}
}

// digestOf is the sha256:… of repo@sha256:….
func digestOf(ref string) string {
	_, d, _ := strings.Cut(ref, "@")
	return d
}
