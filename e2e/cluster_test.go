//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// clusterWorld is the Kubernetes kit's cluster as the e2e tests use it: a
// client for the test itself (on this machine's kubeconfig), the
// kubeconfig module code uses (the API server at the engine's bridge
// address), the registry both reach, and a fresh namespace.
type clusterWorld struct {
	kube       kubernetes.Interface
	kubeconfig string // for module code: the kit's dagger kubeconfig
	registry   string // host:port as module code and the cluster's nodes reach it
	namespace  string
}

func startCluster(t *testing.T) clusterWorld {
	t.Helper()
	hostCfg, daggerCfg := os.Getenv("GOSHIP_KUBECONFIG"), os.Getenv("GOSHIP_KUBECONFIG_DAGGER")
	if hostCfg == "" || daggerCfg == "" {
		t.Skip("CLUSTER UNAVAILABLE: GOSHIP_KUBECONFIG and GOSHIP_KUBECONFIG_DAGGER are not set (scripts/test.sh sets them when ../shared/k8s is up)")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", hostCfg)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", hostCfg, err)
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("goship-e2e-%d", time.Now().UnixNano()%1_000_000)
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	// The kit's registry listens on every address; module code reaches it
	// at the engine's bridge address, and the node pulls from there too.
	return clusterWorld{kube: kube, kubeconfig: daggerCfg, registry: engineHost() + ":5001", namespace: ns}
}

func engineHost() string {
	if h := os.Getenv("GOSHIP_E2E_ENGINE_HOST"); h != "" {
		return h
	}
	return "10.87.0.1"
}

// serviceURL is the app's Service as this machine reaches it (ClusterIPs
// are routed here; there is no cluster DNS).
func (c clusterWorld) serviceURL(t *testing.T, app string) string {
	t.Helper()
	svc, err := c.kube.CoreV1().Services(c.namespace).Get(context.Background(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service %s: %v", app, err)
	}
	return "http://" + svc.Spec.ClusterIP + ":80"
}

// empty fails t unless the namespace holds no Deployment, Service or
// Secret made by goship: a refused deploy applies nothing.
func (c clusterWorld) empty(t *testing.T, what string) {
	t.Helper()
	ctx := context.Background()
	deps, err := c.kube.AppsV1().Deployments(c.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := c.kube.CoreV1().Services(c.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.Items)+len(svcs.Items) > 0 {
		t.Fatalf("%s applied objects: %d deployments, %d services", what, len(deps.Items), len(svcs.Items))
	}
}

// The Kubernetes target through the module, on the kit's cluster: bad
// input refused before anything is applied; publish two releases; deploy
// v1, then v2 with a prober on the Service seeing no failed request; a
// broken v3 rolled back automatically, still with no failed request; the
// release history; rollback --to; a second deploy refused by the lock.
func TestClusterThroughTheModule(t *testing.T) {
	c := startCluster(t)
	src := filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")
	dir := t.TempDir()
	kubeconfig := "file://" + c.kubeconfig
	call := func(created string, args ...string) result {
		base := []string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created, "--plain-http-registry=" + c.registry}
		return goship(t, src, nil, append(base, args...)...)
	}
	on := func(created, fn string, args ...string) result {
		chain := []string{"cluster", "--kubeconfig=" + kubeconfig, "--namespace=" + c.namespace, fn}
		return call(created, append(chain, args...)...)
	}
	// deploy is `deployment <flags> with-health --timeout … --settle … run`.
	deploy := func(created, timeout, settle string, flags ...string) result {
		args := append(flags, "with-health", "--timeout="+timeout, "--settle="+settle, "run")
		return on(created, "deployment", args...)
	}
	publish := func(created string) string {
		// The kit's registry has no auth; publish wants credentials, which
		// it may send to a registry that ignores them.
		ref := must(t, call(created, "publish", "--registry-host="+c.registry, "--namespace=goship", "--repository=hello",
			"--username=e2e", "--password=env://E2E_UNUSED", "--tags=timestamp"), "publish "+created)
		if !strings.HasPrefix(ref, c.registry+"/goship/hello@sha256:") {
			t.Fatalf("publish returned %q", ref)
		}
		return ref
	}
	t.Setenv("E2E_UNUSED", "unused")

	// Refused before anything is applied.
	bad := filepath.Join(dir, "bad.kubeconfig")
	writeFile(t, bad, "apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: ':::'}}]\n")
	mustFail(t, call("2026-01-01T00:00:00Z", "cluster", "--kubeconfig=file://"+bad, "status"), "a bad kubeconfig", "kubeconfig")
	mustFail(t, call("2026-01-01T00:00:00Z", "cluster", "--kubeconfig="+kubeconfig, "--namespace=goship-no-such-ns", "status"),
		"an unknown namespace", `"goship-no-such-ns"`)
	missing := c.registry + "/goship/hello@sha256:" + strings.Repeat("0", 64)
	mustFail(t, on("2026-01-01T00:00:00Z", "deployment", "--image="+missing, "run"), "a missing image", strings.Repeat("0", 12))
	mustFail(t, on("2026-01-01T00:00:00Z", "deployment", "--image="+c.registry+"/goship/hello:latest", "run"), "a tag, not a digest", "digest")
	c.empty(t, "the refused deploys")

	v1, v2 := publish("2026-01-01T00:00:00Z"), publish("2026-02-01T00:00:00Z")
	must(t, deploy("2026-01-01T00:00:00Z", "3m", "3s", "--image="+v1), "deploy v1")
	url := c.serviceURL(t, "hello")
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after v1 = %q", v)
	}

	p := testworld.StartProber(url + "/healthz")
	must(t, deploy("2026-02-01T00:00:00Z", "3m", "3s", "--image="+v2), "deploy v1 -> v2")
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after v2 = %q", v)
	}
	broken := filepath.Join(dir, "broken.env")
	writeFile(t, broken, "HELLO_BROKEN=1\n")
	mustFail(t, deploy("2026-03-01T00:00:00Z", "40s", "3s", "--image="+v2, "--env=file://"+broken),
		"a broken v3", "rolled back to")
	p.Finish(t, "probes through the Service across v1 -> v2 and a broken v3", 100)
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after the broken v3 = %q: v2 must serve", v)
	}

	releases := on("2026-04-01T00:00:00Z", "releases")
	must(t, releases, "releases")
	names := regexp.MustCompile(`(?m)^\*?\s*(\d{14}\S*)`).FindAllStringSubmatch(releases.out, -1)
	if len(names) < 3 || strings.Count(releases.out, string(outcome.Succeeded)) < 2 || !strings.Contains(releases.out, string(outcome.RolledBack)) {
		t.Fatalf("releases (want 3: two succeeded, one rolled back):\n%s", releases.out)
	}
	first := names[len(names)-1][1] // newest first
	must(t, on("2026-04-01T00:00:00Z", "rollback", "--to="+first, "--health-settle=3s"), "rollback --to "+first)
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after rollback --to %s = %q", first, v)
	}
	status := on("2026-04-01T00:00:00Z", "status")
	must(t, status, "status")
	if !strings.Contains(status.out, first) {
		t.Fatalf("status does not name %s:\n%s", first, status.out)
	}

	// Two deploys at once: the second is refused while the first holds
	// the app's Lease, and names the holder.
	var wg sync.WaitGroup
	var slow result
	wg.Add(1)
	go func() {
		defer wg.Done()
		slow = deploy("2026-05-01T00:00:00Z", "3m", "20s", "--image="+v2)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := c.kube.CoordinationV1().Leases(c.namespace).Get(context.Background(), "goship-deploy-hello", metav1.GetOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("the first deploy's lease never appeared: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mustFail(t, on("2026-05-02T00:00:00Z", "deployment", "--image="+v1, "run"), "a deploy while another holds the lock", "goship refs/heads/main@")
	wg.Wait()
	must(t, slow, "the deploy that held the lock")
}
