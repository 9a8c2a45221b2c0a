package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// world is a real cluster from GOSHIP_KUBECONFIG, with a fresh namespace
// per test, and its registry GOSHIP_K8S_REGISTRY.
type world struct {
	kubeconfig []byte
	ns         string
	admin      kubernetes.Interface
	registry   string
}

func clusterWorld(t *testing.T) *world {
	t.Helper()
	path, reg := os.Getenv("GOSHIP_KUBECONFIG"), os.Getenv("GOSHIP_K8S_REGISTRY")
	if path == "" || reg == "" {
		t.Skip("CLUSTER UNAVAILABLE: GOSHIP_KUBECONFIG not set")
	}
	kc, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading GOSHIP_KUBECONFIG: %v", err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	ns := "gs-kube-" + strings.ToLower(strings.NewReplacer("_", "-", "/", "-").Replace(strings.TrimPrefix(t.Name(), "TestCluster")))
	if len(ns) > 50 {
		ns = ns[:50]
	}
	ns += "-" + hex.EncodeToString(id)
	ctx := context.Background()
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", ns, err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		_ = admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	return &world{kubeconfig: kc, ns: ns, admin: admin, registry: reg}
}

func (w *world) connect(t *testing.T, opts ...ConnectOption) *Cluster {
	t.Helper()
	c, err := Connect(context.Background(), w.kubeconfig, "", w.ns, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writeCounter counts the requests that change the cluster: every
// method but GET, HEAD and OPTIONS, except server-side dry runs.
type writeCounter struct {
	mu     sync.Mutex
	n      int
	writes []string
	on     bool
}

func (wc *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		read := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodOptions
		if !read && !strings.Contains(req.URL.RawQuery, "dryRun=All") {
			wc.mu.Lock()
			if wc.on {
				wc.n++
				wc.writes = append(wc.writes, req.Method+" "+req.URL.Path)
			}
			wc.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// start counts from zero.
func (wc *writeCounter) start() {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	wc.n, wc.writes, wc.on = 0, nil, true
}

func (wc *writeCounter) count() (int, []string) {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return wc.n, append([]string(nil), wc.writes...)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// logLines is a Spec.Log that keeps each line with when it came, and
// shows them in the test log.
type logLines struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
	at    []time.Time
}

func newLog(t *testing.T) *logLines { return &logLines{t: t} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.lines = append(l.lines, line)
		l.at = append(l.at, time.Now())
		l.t.Log("  | " + line)
	}
	return len(p), nil
}

// has: some line contains s.
func (l *logLines) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// longestSilence is the longest gap between two lines.
func (l *logLines) longestSilence() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(l.at); i++ {
		gap = max(gap, l.at[i].Sub(l.at[i-1]))
	}
	return gap
}

// helloImages pushes hello v1, v2 and a broken v3 (503 on /healthz) once
// per test binary.
var helloImages = struct {
	once sync.Once
	refs map[string]name.Digest
}{}

func (w *world) images(t *testing.T) map[string]name.Digest {
	t.Helper()
	helloImages.once.Do(func() {
		reg := &testworld.Registry{Host: w.registry}
		refs := map[string]name.Digest{}
		for _, v := range []string{"v1", "v2", "v3"} {
			refs[v] = reg.Push(t, testworld.HelloImage(t, v, v == "v3"), "goship/kube-hello:"+v)
		}
		helloImages.refs = refs
	})
	if helloImages.refs == nil {
		t.Fatal("pushing the hello images failed in an earlier test")
	}
	return helloImages.refs
}

// spec is a quick release of hello for the test cluster.
func (w *world) spec(image name.Digest, version string) Spec {
	return Spec{
		App: "hello", Image: image.String(), Port: testworld.HelloPort, Version: version, Who: "test",
		Replicas: 2, Settle: 3 * time.Second, Timeout: 90 * time.Second, PreStopSleep: 3 * time.Second,
		CPURequest: "10m", MemoryLimit: "64Mi", Env: []byte("GREETING=hi\n"),
	}
}

// serviceURL is the hello Service's ClusterIP, reachable from the host.
func (w *world) serviceURL(t *testing.T, path string) string {
	t.Helper()
	svc, err := w.admin.CoreV1().Services(w.ns).Get(context.Background(), "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://%s:80%s", svc.Spec.ClusterIP, path)
}

// servedVersion is what /version answers through the Service.
func servedVersion(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func deployOK(t *testing.T, c *Cluster, s Spec) Result {
	t.Helper()
	res, err := c.Deploy(context.Background(), s)
	if err != nil || res.Outcome != "succeeded" {
		t.Fatalf("deploy %s: outcome %s, err %v", s.Version, res.Outcome, err)
	}
	t.Logf("deploy %s: %s in %s", s.Version, res.Release.Name, res.Took.Round(time.Millisecond))
	return res
}

// TestClusterUpgradeFailureRollback walks one app through its life: v1,
// v2 with zero failed requests, a broken v3 rolled back automatically with
// zero failed requests, the releases list, status, a rollback to a named
// release and one to the previous healthy release.
func TestClusterUpgradeFailureRollback(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()

	deployOK(t, c, w.spec(imgs["v1"], "v1"))
	url := w.serviceURL(t, "/version")
	if v := servedVersion(t, url); !strings.Contains(v, "v1") {
		t.Fatalf("after v1 the Service answers %q", v)
	}

	p := testworld.StartProber(url)
	deployOK(t, c, w.spec(imgs["v2"], "v2"))
	p.Finish(t, "upgrade v1 → v2", 100)
	if v := servedVersion(t, url); !strings.Contains(v, "v2") {
		t.Fatalf("after v2 the Service answers %q", v)
	}

	p = testworld.StartProber(url)
	bad := w.spec(imgs["v3"], "v3")
	bad.Timeout = 60 * time.Second
	res, err := c.Deploy(ctx, bad)
	p.Finish(t, "broken v3 and its rollback", 100)
	if res.Outcome != "rolled-back" || err == nil || !strings.Contains(err.Error(), "rolled back to") {
		t.Fatalf("broken v3: outcome %s, err %v; want rolled-back", res.Outcome, err)
	}
	t.Logf("broken v3: %s in %s: %v", res.Outcome, res.Took.Round(time.Millisecond), err)
	if v := servedVersion(t, url); !strings.Contains(v, "v2") {
		t.Fatalf("after the rollback the Service answers %q, want v2", v)
	}

	rels, err := c.Releases(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("releases:\n%s", FormatReleases(rels))
	if len(rels) != 3 || rels[0].Version != "v3" || rels[0].Outcome != outcome.RolledBack || !rels[1].Current || rels[1].Version != "v2" || !rels[2].Healthy() {
		t.Fatalf("releases after v1, v2, broken v3:\n%s", FormatReleases(rels))
	}
	st, err := c.Status(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status:\n%s", FormatStatus(st))
	if got := FormatStatus(st); !strings.HasPrefix(got, "OK: release "+rels[1].Name) {
		t.Fatalf("status after rollback:\n%s", got)
	}

	p = testworld.StartProber(url)
	res, err = c.Rollback(ctx, RollbackSpec{App: "hello", To: rels[2].Name, Settle: 3 * time.Second, Timeout: 90 * time.Second})
	p.Finish(t, "rollback --to v1", 50)
	if err != nil || res.Outcome != "succeeded" || res.Release.Version != "v1" {
		t.Fatalf("rollback to %s: outcome %s, err %v", rels[2].Name, res.Outcome, err)
	}
	t.Logf("rollback to v1: %s", res.Took.Round(time.Millisecond))
	if v := servedVersion(t, url); !strings.Contains(v, "v1") {
		t.Fatalf("after rollback --to v1 the Service answers %q", v)
	}

	res, err = c.Rollback(ctx, RollbackSpec{App: "hello", Settle: 3 * time.Second})
	if err != nil || res.Release.Version != "v2" {
		t.Fatalf("rollback to the previous healthy release: %s, err %v; want v2", res.Release.Name, err)
	}
	if v := servedVersion(t, url); !strings.Contains(v, "v2") {
		t.Fatalf("after rollback to previous the Service answers %q", v)
	}
}
