//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"

	"github.com/goship-dev/goship/pipeline/ciengine"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// TestSharedEngineOnCluster is issue 31's shared engine: the Dagger v0.21
// engine as a DaemonSet on the kit's cluster (pipeline/ciengine, on the
// host network, with the kit's mirror, Go proxy and SDK content), reached
// by CI runners that have only the dagger CLI and a checkout:
//   - from outside the cluster, a fresh container with kubectl, through
//     _EXPERIMENTAL_DAGGER_RUNNER_HOST=kube-pod://…;
//   - from a runner pod on the engine's node, through the engine's socket
//     on the node.
//
// It measures, in one run, hello-service's first ci, its one-file-change
// ci from each runner, a job's fixed cost (connect and module load:
// `dagger functions`), an engine pod restarted with its state kept (its
// next module load must not compile goship again, and its ci must be a
// one-file run), and two runners calling at once; and, before it stops the
// laptop's engine, that engine's own one-file ci, to compare with. Then
// two repositories share the engine under their own --cache-namespace: a
// secret one project's tests plant in its cache volumes must not be
// readable from the other's run (and is, from a run in the first's
// namespace: the probe can fail).
//
// Only one engine at a time can use the host network here, so it stops
// the shared engine while it runs (like the fresh-runner test) and runs
// only when asked: GOSHIP_E2E_CLUSTER_ENGINE=1, with the cluster's
// GOSHIP_KUBECONFIG (scripts/cluster.sh ready) and kubectl on PATH.
//
//	GOSHIP_E2E_CLUSTER_ENGINE=1 flock /work/notes/engine.lock go test -tags e2e -count=1 -run '^TestSharedEngineOnCluster$' -timeout 90m ./e2e/
func TestSharedEngineOnCluster(t *testing.T) {
	if os.Getenv("GOSHIP_E2E_CLUSTER_ENGINE") != "1" {
		t.Skip("stops the shared engine for one on the cluster; run with GOSHIP_E2E_CLUSTER_ENGINE=1")
	}
	kubeconfig := os.Getenv("GOSHIP_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("CLUSTER UNAVAILABLE: GOSHIP_KUBECONFIG is not set (scripts/cluster.sh ready prints it)")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("CLUSTER UNAVAILABLE: no kubectl on PATH")
	}
	w := &sharedEngine{t: t, kubeconfig: kubeconfig, kubectl: kubectl, stamp: time.Now().Unix(), rows: map[string]time.Duration{}}
	w.registry = os.Getenv("GOSHIP_K8S_REGISTRY")
	if w.registry == "" {
		w.registry = "127.0.0.1:5001"
	}
	t.Setenv("GOSHIP_E2E_ARGS", strings.Join(pinnedEngineArgs(t), " "))
	w.args = append(engineArgs(), "--scanners=secret")
	w.module = moduleCheckout(t)

	// The laptop: one-file ci on the shared engine, before it stops.
	laptop := w.project("laptop")
	w.laptopCi(laptop, "--cache-namespace=laptop-ref")
	edit(t, editTarget(t, laptop))
	w.rows["laptop one-file ci"] = w.laptopCi(laptop, "--cache-namespace=laptop-ref")
	engineEnv, engineTOML := kitEngineConfig(t)

	engineImage, runnerImage := w.images()
	_ = takeOverEngine(t)
	o := ciengine.Options{
		Name: "ci-engine", Namespace: fmt.Sprintf("gs-eng-%d", w.stamp%1_000_000), Image: engineImage,
		StateDir: fmt.Sprintf("/var/lib/goship-eng-%d/state", w.stamp), RunDir: fmt.Sprintf("/var/lib/goship-eng-%d/run", w.stamp),
		EngineTOML: engineTOML, Env: engineEnv, HostNetwork: true,
		HostMounts: []ciengine.HostMount{
			{HostPath: "/sys/fs/cgroup", MountPath: "/sys/fs/cgroup"},
			{HostPath: kitCache() + "/oci", MountPath: "/usr/local/share/dagger/content", ReadOnly: true},
		},
		GracePeriod: 60 * time.Second,
		// This machine's disk is shared and mostly taken (about 39 GiB free
		// of 252 GiB): sized for its capacity (pipeline/ciengine's
		// TestApplyOnCluster checks that sizing), the engine keeps only
		// its 10 GiB reserve, and the first ci's images and results pushed
		// the module load out (seen here: the load after a restart compiled
		// goship again, 73 s). A team's node has its disk to itself; here
		// the GC is sized for what is free, as --gc-* lets a user do.
		GC: ciengine.GC{MaxUsedSpace: "30GiB", ReservedSpace: "25GiB", MinFreeSpace: "2GiB"},
	}
	w.options = o
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ciengine.Connect(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	w.cluster = c
	t.Cleanup(w.cleanup)
	start := time.Now()
	res, err := c.Apply(context.Background(), o, 10*time.Minute)
	if err != nil {
		t.Fatalf("applying the engine: %v", err)
	}
	w.rows["engine apply until Ready"] = time.Since(start)
	if len(res.Pods) != 1 {
		t.Fatalf("want one engine pod on the kit's one node, got %+v", res.Pods)
	}
	w.pod = res.Pods[0]
	t.Logf("engine %s on node %s, gc %+v", w.pod.Name, w.pod.Node, res.Options.GC)
	// The same options again change nothing: no new engine pod.
	if again, err := c.Apply(context.Background(), o, 2*time.Minute); err != nil || again.Pods[0].Name != w.pod.Name {
		t.Fatalf("a second apply of the same options: %v, pods %+v (want %s kept)", err, again.Pods, w.pod.Name)
	}
	a, b := w.project("a"), w.project("b")
	w.startRunnerPod(runnerImage)

	// First call, then one file changed, from outside the cluster.
	w.rows["first ci (outside, cold engine)"] = w.must(w.outside(runnerImage, a, w.ci()...), "first ci")
	edit(t, editTarget(t, a))
	w.rows["one-file ci (outside, kube-pod)"] = w.must(w.outside(runnerImage, a, w.ci()...), "one-file ci from outside")
	w.rows["job fixed cost (outside: dagger functions)"] = w.must(w.outside(runnerImage, "", "functions", "-m", w.module), "functions from outside")
	// The same from the runner pod on the engine's node, through its socket.
	edit(t, editTarget(t, a))
	w.rows["one-file ci (runner pod, socket)"] = w.must(w.inPod(a, w.ci()...), "one-file ci from the runner pod")
	w.rows["job fixed cost (runner pod: dagger functions)"] = w.must(w.inPod("", "functions", "-m", w.module), "functions from the runner pod")

	// The engine pod restarted, its state kept on the node: warm.
	w.restart()
	load := w.outside(runnerImage, "", "functions", "-m", w.module, "--progress=plain", "--debug")
	w.rows["module load after restart (outside)"] = w.must(load, "functions after the restart")
	if l := readColdLoad(load.out); l.typedefs+l.codegen+l.build > 10*time.Second {
		t.Fatalf("after the restart the module load ran the SDK's commands again (%s): the state was not kept:\n%s", l, tail(load.out, 3000))
	}
	edit(t, editTarget(t, a))
	w.rows["one-file ci after restart (outside)"] = w.must(w.outside(runnerImage, a, w.ci()...), "one-file ci after the restart")

	// Two runners at once, one each way, each on its own checkout.
	w.must(w.inPod(b, w.ci()...), "ci on b from the runner pod")
	edit(t, editTarget(t, a))
	edit(t, editTarget(t, b))
	var wg sync.WaitGroup
	var ra, rb runResult
	wg.Add(2)
	go func() { defer wg.Done(); ra = w.outside(runnerImage, a, w.ci()...) }()
	go func() { defer wg.Done(); rb = w.inPod(b, w.ci()...) }()
	wg.Wait()
	w.rows["two at once: one-file ci (outside)"] = w.must(ra, "concurrent ci from outside")
	w.rows["two at once: one-file ci (runner pod)"] = w.must(rb, "concurrent ci from the runner pod")

	w.isolation(runnerImage)
	w.report()
}

// sharedEngine is the test's state.
type sharedEngine struct {
	t                   *testing.T
	kubeconfig, kubectl string
	registry, module    string
	args                []string
	stamp               int64
	options             ciengine.Options
	cluster             *ciengine.Cluster
	pod                 ciengine.Pod
	runnerPod           string
	mounts              []string // host directories the runners see at the same path
	rows                map[string]time.Duration
}

// runResult is one runner's dagger call: its output, and the time the
// runner itself measured (without docker's or kubectl's start).
type runResult struct {
	out  string
	err  error
	took time.Duration
}

// ci is goship's ci on the project the runner is in.
func (w *sharedEngine) ci(more ...string) []string {
	return append(append(append([]string{"call", "-m", w.module, "--source=."}, w.args...), more...), "ci")
}

// must fails the test unless r passed, and returns its time, recording
// the row order.
func (w *sharedEngine) must(r runResult, what string) time.Duration {
	w.t.Helper()
	if r.err != nil {
		w.t.Fatalf("%s: %v\n%s", what, r.err, tail(r.out, 4000))
	}
	fmt.Printf("shared engine: %s: %.1f s\n", what, r.took.Seconds())
	return r.took
}

// project is a fresh copy of hello-service the runners see.
func (w *sharedEngine) project(name string) string {
	dir := filepath.Join(w.t.TempDir(), name)
	src := filepath.Join(testworld.RepoRoot(w.t), "examples", "hello-service")
	if out, err := exec.Command("cp", "-r", src, dir).CombinedOutput(); err != nil {
		w.t.Fatalf("copy hello-service: %v %s", err, out)
	}
	w.mounts = append(w.mounts, dir)
	return dir
}

// laptopCi is ci on the shared engine (dagger-engine-local), as a laptop
// runs it.
func (w *sharedEngine) laptopCi(src string, more ...string) time.Duration {
	r := goship(w.t, src, nil, append(append([]string{"--scanners=secret"}, more...), "ci")...)
	if r.err != nil {
		w.t.Fatalf("ci on the laptop's engine: %v\n%s", r.err, tail(r.out, 3000))
	}
	return r.took
}

// moduleCheckout is goship's module source as a plain checkout (no .git:
// a worktree's points outside), which every runner mounts read-only.
func moduleCheckout(t *testing.T) string {
	root := testworld.RepoRoot(t)
	dst := filepath.Join(t.TempDir(), "goship")
	files, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Split(strings.TrimSpace(string(files)), "\n") {
		if strings.HasPrefix(f, "e2e/") || strings.HasPrefix(f, "examples/") || strings.HasPrefix(f, "bench/") || strings.HasPrefix(f, "tools/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		writeFile(t, filepath.Join(dst, f), string(data))
	}
	return dst
}

// kitCache is the engine kit's cache directory.
func kitCache() string {
	if c := os.Getenv("GOSHIP_ENGINE_CACHE"); c != "" {
		return c
	}
	return "/var/cache/goship-engine"
}

// kitEngineConfig is what the kit's engine container runs with: its two
// environment variables that the SDK and the Go proxy need, and its
// engine.toml (the Docker Hub mirror).
func kitEngineConfig(t *testing.T) ([]ciengine.EnvVar, string) {
	out, err := exec.Command("docker", "inspect", "-f", "{{json .Config.Env}}", "dagger-engine-local").Output()
	if err != nil {
		t.Fatalf("docker inspect dagger-engine-local: %v", err)
	}
	var env []string
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	var keep []ciengine.EnvVar
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		if k == "DAGGER_GO_SDK_MANIFEST_DIGEST" || k == "_DAGGER_ENGINE_SYSTEMENV_GOPROXY" {
			keep = append(keep, ciengine.EnvVar{Name: k, Value: v})
		}
	}
	if len(keep) != 2 {
		t.Fatalf("dagger-engine-local's env lacks the SDK digest or the Go proxy: %v", env)
	}
	toml, err := os.ReadFile(filepath.Join(kitCache(), "run", "engine.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return keep, string(toml)
}

// images copies to the cluster's registry the kit's engine image (its
// dagger CLI answers the readiness probe, as in Dagger's own engine image)
// and pushes a runner image: busybox and the kit's dagger CLI, nothing
// else.
func (w *sharedEngine) images() (engine, runner string) {
	t := w.t
	cli, err := exec.LookPath("dagger")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(cli)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		_ = tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755})
	}
	if err := tw.WriteHeader(&tar.Header{Name: "usr/local/bin/dagger", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layerBytes := buf.Bytes()
	cliLayer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerBytes)), nil })
	if err != nil {
		t.Fatal(err)
	}
	push := func(from, to string, edit func(v1.Image) (v1.Image, error)) string {
		ref, err := testworld.CopyImage(from, to, edit)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	engine = push(kitEngineImage, w.registry+"/goship-e2e/dagger-engine:v0.21.0", nil)
	runner = push(mirror()+"/library/busybox:latest", w.registry+"/goship-e2e/dagger-runner:v0.21.0", func(img v1.Image) (v1.Image, error) {
		img, err := mutate.AppendLayers(img, cliLayer)
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		c := cf.Config
		c.Entrypoint, c.Cmd = nil, []string{"sh"}
		env := []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "DO_NOT_TRACK=1", "HOME=/tmp"}
		for _, e := range c.Env {
			if !strings.HasPrefix(e, "PATH=") {
				env = append(env, e)
			}
		}
		c.Env = env
		return mutate.Config(img, c)
	})
	return engine, runner
}

// mirror is the engine kit's registry.
func mirror() string {
	if m := os.Getenv("GOSHIP_E2E_MIRROR"); m != "" {
		return m
	}
	return "127.0.0.1:5000"
}

// timed wraps a dagger call in a shell that prints the call's own wall
// time (from /proc/uptime: busybox's date has no sub-second format), so
// docker's and kubectl's start is not counted.
func timed(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return []string{"sh", "-c", `read s _ < /proc/uptime; dagger ` + strings.Join(q, " ") +
		`; rc=$?; read e _ < /proc/uptime; echo "goship-e2e-took=$(awk "BEGIN { print $e - $s }")"; exit $rc`}
}

var tookRE = regexp.MustCompile(`goship-e2e-took=([0-9.]+)`)

func runnerResult(out []byte, err error, wall time.Duration) runResult {
	r := runResult{out: string(out), err: err, took: wall}
	if m := tookRE.FindStringSubmatch(r.out); m != nil {
		if sec, perr := strconv.ParseFloat(m[1], 64); perr == nil {
			r.took = time.Duration(sec * float64(time.Second))
		}
	}
	return r
}

// outside runs dagger args in a fresh container that has only the dagger
// CLI, kubectl and the checkouts, reaching the engine through kube-pod://.
func (w *sharedEngine) outside(image, dir string, args ...string) runResult {
	docker := []string{"run", "--rm", "--network", "host",
		"-v", w.kubectl + ":/usr/local/bin/kubectl:ro", "-v", w.kubeconfig + ":/kube/config:ro", "-e", "KUBECONFIG=/kube/config",
		"-e", "_EXPERIMENTAL_DAGGER_RUNNER_HOST=" + w.pod.RunnerHost, "-v", w.module + ":" + w.module + ":ro"}
	for _, m := range w.mounts {
		docker = append(docker, "-v", m+":"+m)
	}
	if dir == "" {
		dir = w.module
	}
	docker = append(append(docker, "-w", dir, image), timed(args)...)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, "docker", docker...).CombinedOutput()
	return runnerResult(out, err, time.Since(start))
}

// inPod runs dagger args in the runner pod, reaching the engine through
// the node's socket.
func (w *sharedEngine) inPod(dir string, args ...string) runResult {
	if dir == "" {
		dir = w.module
	}
	sh := timed(args)
	sh[2] = "cd '" + dir + "' || exit 1; " + sh[2]
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, w.kubectl, append([]string{"--kubeconfig", w.kubeconfig, "exec", "-n", w.options.Namespace, w.runnerPod, "--"}, sh...)...).CombinedOutput()
	return runnerResult(out, err, time.Since(start))
}

// kubectlApply applies a manifest with kubectl.
func (w *sharedEngine) kubectlApply(obj any) {
	y, err := yaml.Marshal(obj)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(w.kubectl, "--kubeconfig", w.kubeconfig, "apply", "-f", "-")
	cmd.Stdin = bytes.NewReader(y)
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, y)
	}
}

func (w *sharedEngine) kubectlRun(args ...string) string {
	out, err := exec.Command(w.kubectl, append([]string{"--kubeconfig", w.kubeconfig, "-n", w.options.Namespace}, args...)...).CombinedOutput()
	if err != nil {
		w.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startRunnerPod starts a runner pod on the engine's node with the
// engine's socket (ciengine.Socket) and the checkouts mounted.
func (w *sharedEngine) startRunnerPod(image string) {
	vol, mount, env, err := ciengine.Socket(w.options)
	if err != nil {
		w.t.Fatal(err)
	}
	w.runnerPod = "ci-runner"
	volumes := []map[string]any{{"name": vol.Name, "hostPath": map[string]any{"path": vol.HostPath.Path, "type": "Directory"}}}
	mounts := []map[string]any{{"name": mount.Name, "mountPath": mount.MountPath}}
	for i, d := range append([]string{w.module}, w.mountsFor()...) {
		n := fmt.Sprintf("checkout-%d", i)
		volumes = append(volumes, map[string]any{"name": n, "hostPath": map[string]any{"path": d, "type": "Directory"}})
		mounts = append(mounts, map[string]any{"name": n, "mountPath": d, "readOnly": d == w.module})
	}
	w.kubectlApply(map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": w.runnerPod, "namespace": w.options.Namespace},
		"spec": map[string]any{
			"nodeName": w.pod.Node, "automountServiceAccountToken": false, "terminationGracePeriodSeconds": 1,
			"containers": []map[string]any{{
				"name": "runner", "image": image, "command": []string{"sleep", "86400"},
				"env":          []map[string]any{{"name": env.Name, "value": env.Value}},
				"volumeMounts": mounts,
			}},
			"volumes": volumes,
		},
	})
	w.kubectlRun("wait", "--for=condition=Ready", "--timeout=180s", "pod/"+w.runnerPod)
}

// mountsFor are the project checkouts the runner pod mounts: those made
// so far, but the laptop's.
func (w *sharedEngine) mountsFor() []string {
	var dirs []string
	for _, m := range w.mounts {
		if filepath.Base(m) != "laptop" {
			dirs = append(dirs, m)
		}
	}
	return dirs
}

// restart deletes the engine pod; the DaemonSet starts another on the
// same node with the same state directory.
func (w *sharedEngine) restart() {
	start := time.Now()
	w.kubectlRun("delete", "pod", w.pod.Name, "--wait=true")
	pods, err := w.cluster.Wait(context.Background(), w.options, 5*time.Minute)
	if err != nil {
		w.t.Fatalf("waiting for the restarted engine: %v", err)
	}
	if pods[0].Name == w.pod.Name {
		w.t.Fatalf("the engine pod %s was not replaced", w.pod.Name)
	}
	w.pod = pods[0]
	w.rows["engine pod restart until Ready"] = time.Since(start)
	fmt.Printf("shared engine: engine pod restart until Ready: %.1f s\n", time.Since(start).Seconds())
}

// isolation is --cache-namespace between two repositories on the shared
// engine: project p's tests plant a secret in its Go build cache and module
// cache volumes; project q's tests fail if they can read it.
func (w *sharedEngine) isolation(image string) {
	t := w.t
	const secret = "ghp_goshipPlantedSecretAbCdEfGhIjKlMnOpQrStUv"
	p, q := w.project("plant"), w.project("probe") // the outside runner's only

	writeFile(t, filepath.Join(p, "internal", "plant", "plant_test.go"), isolationTest("plant", "TestPlant leaves a secret in the caches this run's tests see.", `
		if err := os.WriteFile(filepath.Join(d, "goship-planted-secret"), []byte("`+secret+`"), 0o600); err != nil {
			t.Fatal(err)
		}`))
	writeFile(t, filepath.Join(q, "internal", "probe", "probe_test.go"), isolationTest("probe", "TestProbe fails when another project's secret is in this run's caches.", `
		if b, err := os.ReadFile(filepath.Join(d, "goship-planted-secret")); err == nil { //nolint:gosec // the run's own cache directories
			t.Fatalf("read a planted secret in %s: %s", d, b)
		}`))
	ci := func(dir, ns string) runResult { return w.outside(image, dir, w.ci("--cache-namespace="+ns)...) }
	w.must(ci(p, "repo-plant"), "ci of the planting project")
	probe := ci(q, "repo-probe")
	if probe.err != nil {
		t.Fatalf("the other project's run read the planted secret, or failed:\n%s", tail(probe.out, 4000))
	}
	// The probe can fail: in the planting project's namespace it finds it.
	control := ci(q, "repo-plant")
	if control.err == nil || !strings.Contains(control.out, "read a planted secret") {
		t.Fatalf("the probe in the planting project's namespace did not find the secret (the plant or the probe is broken): %v\n%s", control.err, tail(control.out, 4000))
	}
	t.Logf("isolation: the probe found the secret only in the planting namespace")
}

// isolationTest is a test file of package pkg whose test runs body for
// each of the Go caches its run sees (d: GOCACHE, then GOMODCACHE).
func isolationTest(pkg, doc, body string) string {
	name := "Test" + strings.ToUpper(pkg[:1]) + pkg[1:]
	return `// Package ` + pkg + ` is issue 31's cache isolation check.
package ` + pkg + `

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ` + doc + `
func ` + name + `(t *testing.T) {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Fields(string(out)) {` + body + `
	}
}
`
}

func (w *sharedEngine) cleanup() {
	ctx := context.Background()
	if w.runnerPod != "" {
		_ = exec.Command(w.kubectl, "--kubeconfig", w.kubeconfig, "-n", w.options.Namespace, "delete", "pod", w.runnerPod, "--wait=false").Run()
	}
	if err := w.cluster.Remove(ctx, w.options, 3*time.Minute); err != nil {
		w.t.Errorf("removing the engine: %v", err)
	}
	_ = exec.Command(w.kubectl, "--kubeconfig", w.kubeconfig, "delete", "namespace", w.options.Namespace, "--wait=false").Run()
	// The engine's state on the node.
	if out, err := exec.Command("rm", "-rf", filepath.Dir(w.options.StateDir)).CombinedOutput(); err != nil {
		w.t.Errorf("removing the engine's state %s: %v %s", filepath.Dir(w.options.StateDir), err, out)
	}
}

func (w *sharedEngine) report() {
	var b strings.Builder
	fmt.Fprintf(&b, "\nshared engine on the cluster, one run (s)\n| case | time |\n|---|---|\n")
	for _, k := range []string{
		"laptop one-file ci", "engine apply until Ready", "first ci (outside, cold engine)", "one-file ci (outside, kube-pod)",
		"job fixed cost (outside: dagger functions)", "one-file ci (runner pod, socket)", "job fixed cost (runner pod: dagger functions)",
		"engine pod restart until Ready", "module load after restart (outside)", "one-file ci after restart (outside)",
		"two at once: one-file ci (outside)", "two at once: one-file ci (runner pod)",
	} {
		fmt.Fprintf(&b, "| %s | %.1f |\n", k, w.rows[k].Seconds())
	}
	ref := w.rows["laptop one-file ci"].Seconds()
	fmt.Fprintf(&b, "one-file ci ÷ laptop: outside %.2f×, runner pod %.2f×\n", w.rows["one-file ci (outside, kube-pod)"].Seconds()/ref, w.rows["one-file ci (runner pod, socket)"].Seconds()/ref)
	w.t.Log(b.String())
	fmt.Print(b.String())
}
