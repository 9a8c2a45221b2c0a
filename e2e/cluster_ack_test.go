//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/sign/signtest"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// clusterCalls are the module calls of one cluster test on src.
type clusterCalls struct {
	t   *testing.T
	c   clusterWorld
	src string
	env []string
}

func (cc clusterCalls) call(created string, args ...string) result {
	base := []string{"--sha=" + sha, "--ref=refs/heads/main", "--created=" + created, "--plain-http-registry=" + cc.c.registry, "--scanners=secret"}
	return goship(cc.t, cc.src, cc.env, append(base, args...)...)
}

// on calls fn on the cluster object of the test's namespace.
func (cc clusterCalls) on(created string, chain ...string) result {
	return cc.call(created, append([]string{"cluster", "--kubeconfig=file://" + cc.c.kubeconfig, "--namespace=" + cc.c.namespace}, chain...)...)
}

// deploy runs `deployment <flags> with-health … <chain…> run`. The
// settle window outlasts the release that turns bad 2 s after its first
// good probe: with readiness every 2 s and two failures to leave Ready,
// its pods leave Ready 4 to 6 s after they became Ready (with a 5 s
// window, one of two runs here switched traffic to it).
func (cc clusterCalls) deploy(created string, flags []string, chain ...string) result {
	args := append(append([]string{"deployment"}, flags...), "with-health", "--timeout=2m", "--settle=10s")
	return cc.on(created, append(append(args, chain...), "run")...)
}

// publish pushes the source as built on created (its version) and
// returns the reference.
func (cc clusterCalls) publish(created string, extra ...string) string {
	args := append([]string{"publish", "--registry-host=" + cc.c.registry, "--namespace=goship", "--repository=hello",
		"--username=e2e", "--password=env://E2E_UNUSED", "--tags=timestamp"}, extra...)
	ref := must(cc.t, cc.call(created, args...), "publish "+created)
	if !strings.Contains(ref, "@sha256:") {
		cc.t.Fatalf("publish returned %q", ref)
	}
	return ref
}

// Blue-green on the cluster through the module, with a prober on the
// live Service: v1 -> v2, a release that fails at once and one that turns
// bad 2 s after its first good probe, each with 0 failed requests; an unchanged
// redeploy writes nothing; a ResourceQuota refusal ends in seconds,
// naming the quota; an HPA keeps its replica count.
func TestClusterBlueGreenThroughTheModule(t *testing.T) {
	c := startCluster(t)
	cc := clusterCalls{t: t, c: c, src: filepath.Join(testworld.RepoRoot(t), "examples", "hello-service"), env: []string{"E2E_UNUSED=unused"}}
	v1, v2 := cc.publish("2026-01-01T00:00:00Z"), cc.publish("2026-02-01T00:00:00Z")
	dir := t.TempDir()

	must(t, cc.deploy("2026-01-01T00:00:00Z", []string{"--image=" + v1}, "with-blue-green", "--drain=5s"), "blue-green v1")
	url := c.serviceURL(t, "hello")
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260101000000-01234567") {
		t.Fatalf("/version after v1 = %q", v)
	}
	p := testworld.StartProber(url + "/healthz")
	must(t, cc.deploy("2026-02-01T00:00:00Z", []string{"--image=" + v2}, "with-blue-green", "--drain=5s"), "blue-green v1 -> v2")
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after v2 = %q", v)
	}
	broken := filepath.Join(dir, "broken.env")
	writeFile(t, broken, "HELLO_BROKEN=1\n")
	mustFail(t, cc.deploy("2026-03-01T00:00:00Z", []string{"--image=" + v2, "--env=file://" + broken}, "with-blue-green"),
		"a blue-green release that fails at once", "hello")
	turnsBad := filepath.Join(dir, "turns-bad.env")
	writeFile(t, turnsBad, "HELLO_FAIL_AFTER=2s\n")
	mustFail(t, cc.deploy("2026-03-02T00:00:00Z", []string{"--image=" + v2, "--env=file://" + turnsBad}, "with-blue-green"),
		"a blue-green release that turns bad 2 s after its first good probe", "hello")
	p.Finish(t, "probes through the live Service across v1 -> v2 and two bad releases", 100)
	if v := getEventually(t, url+"/version"); !strings.Contains(v, "0.0.0-20260201000000-01234567") {
		t.Fatalf("/version after the bad releases = %q: v2 must serve", v)
	}

	again := cc.deploy("2026-02-01T00:00:00Z", []string{"--image=" + v2}, "with-blue-green", "--drain=5s")
	must(t, again, "the same release again")
	if !strings.Contains(again.out, "unchanged") {
		t.Errorf("an unchanged redeploy does not say so:\n%s", tail(again.out, 2000))
	}

	// An HPA that targets the app: a rolling deploy leaves its count alone.
	ctx := context.Background()
	min3 := int32(3)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "hello"},
		MinReplicas:    &min3, MaxReplicas: 4,
		Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr(int32(80))}}}},
	}}
	must(t, cc.deploy("2026-02-02T00:00:00Z", []string{"--image=" + v2}, "with-recreate"), "back to rolling")
	if _, err := c.kube.AutoscalingV2().HorizontalPodAutoscalers(c.namespace).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scaleTo(t, c, "hello", 3)
	must(t, cc.deploy("2026-02-03T00:00:00Z", []string{"--image=" + v1}), "a deploy under an HPA")
	dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil || dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
		t.Fatalf("the HPA's 3 replicas did not survive the deploy: %v %v", err, dep.Spec.Replicas)
	}

	// A ResourceQuota that forbids the pods: refused in seconds, named.
	quota := startCluster(t)
	qc := clusterCalls{t: t, c: quota, src: cc.src, env: cc.env}
	if _, err := c.kube.CoreV1().ResourceQuotas(quota.namespace).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, qc.on("2026-02-01T00:00:00Z", "status"), "status (a warm module before the timed call)")
	refused := qc.deploy("2026-02-01T00:00:00Z", []string{"--image=" + v2})
	mustFail(t, refused, "a deploy the quota forbids", "no-pods")
	t.Logf("the quota refusal ended the call in %s (the gate's timeout is 2m)", refused.took.Round(time.Second))
	if refused.took > time.Minute {
		t.Errorf("the quota refusal took %s: it must end as soon as the ReplicaSet reports it", refused.took)
	}
}

// Manifests through the module: a kustomize overlay deploys; a
// ConfigMap the next release dropped is pruned; under the repository's
// policy an unsigned init container is refused before anything is
// applied; the namespace remembers it runs verified releases.
func TestClusterManifestsAndPolicyThroughTheModule(t *testing.T) {
	c := startCluster(t)
	src := hello(t)
	reg := testworld.StartRegistry(t, testworld.WithTLS())
	world := signtest.FromRegistry(t, reg)
	cosign := signtest.NewCosign(t, world, "cosign3", 3, "pw")
	cosign.MustRun(t, "generate-key-pair", "--output-key-prefix", "release")
	cc := clusterCalls{t: t, c: c, src: src, env: []string{"E2E_UNUSED=unused", "COSIGN_PASSWORD=pw"}}
	signed := cc.publish("2026-01-01T00:00:00Z", "--sign-key=file://"+filepath.Join(cosign.Dir, "release.key"), "--sign-password=env://COSIGN_PASSWORD")
	unsigned := cc.publish("2026-02-01T00:00:00Z")

	manifests := filepath.Join(t.TempDir(), "deploy")
	base := filepath.Join(manifests, "base")
	writeFile(t, filepath.Join(base, "app.yaml"), appManifest("", ""))
	writeFile(t, filepath.Join(base, "kustomization.yaml"), "resources: [app.yaml, extra.yaml]\n")
	writeFile(t, filepath.Join(base, "extra.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello-extra\ndata:\n  k: v\n")
	writeFile(t, filepath.Join(manifests, "prod", "kustomization.yaml"), "resources: [../base]\ncommonLabels:\n  tier: prod\n")
	deployManifests := func(image string, chain ...string) result {
		return cc.deploy("2026-01-01T00:00:00Z", []string{"--image=" + image, "--manifests=" + manifests, "--kustomize=prod"}, chain...)
	}
	must(t, deployManifests(signed), "a kustomize overlay")
	ctx := context.Background()
	if _, err := c.kube.CoreV1().ConfigMaps(c.namespace).Get(ctx, "hello-extra", metav1.GetOptions{}); err != nil {
		t.Fatalf("the overlay's ConfigMap: %v", err)
	}
	dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil || dep.Labels["tier"] != "prod" {
		t.Fatalf("the overlay's label is not on the Deployment: %v %v", err, dep.Labels)
	}
	writeFile(t, filepath.Join(base, "kustomization.yaml"), "resources: [app.yaml]\n")
	must(t, deployManifests(signed), "a release without the ConfigMap")
	if _, err := c.kube.CoreV1().ConfigMaps(c.namespace).Get(ctx, "hello-extra", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the dropped ConfigMap was not pruned: %v", err)
	}

	// The policy: the release key, its attestations.
	pub, err := os.ReadFile(filepath.Join(cosign.Dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, ".goship", "release.pub"), string(pub))
	writeFile(t, filepath.Join(src, ".goship", "policy.yaml"), "keys:\n  - name: release\n    path: .goship/release.pub\nrequire: [slsaprovenance1]\n")
	writeFile(t, filepath.Join(base, "app.yaml"), appManifest("migrate", unsigned))
	before, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, deployManifests(signed), "an unsigned init container under the policy", "deploy refused before anything was touched", digestOf(unsigned))
	after, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil || after.Generation != before.Generation {
		t.Fatalf("the refused deploy changed the Deployment: generation %d -> %d (%v)", before.Generation, after.Generation, err)
	}
	writeFile(t, filepath.Join(base, "app.yaml"), appManifest("", ""))
	must(t, deployManifests(signed), "a verified release")

	// Without the policy file the namespace still remembers it.
	if err := os.RemoveAll(filepath.Join(src, ".goship")); err != nil {
		t.Fatal(err)
	}
	mustFail(t, deployManifests(unsigned), "an unverified deploy into a namespace that took a verified release", ".goship/policy.yaml")
	must(t, deployManifests(unsigned, "with-unverified", "--reason=e2e: an unsigned hotfix"), "with-unverified")
}

// appManifest is the app's Deployment and Service, with an init
// container running image when initName is set.
func appManifest(initName, image string) string {
	init := ""
	if initName != "" {
		init = "      initContainers:\n      - name: " + initName + "\n        image: " + image + "\n        args: [\"version\"]\n"
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  replicas: 1
  selector:
    matchLabels: {app: hello}
  template:
    metadata:
      labels: {app: hello}
    spec:
` + init + `      containers:
      - name: hello
        image: placeholder
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}}
---
apiVersion: v1
kind: Service
metadata:
  name: hello
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
`
}

// scaleTo waits until the app's Deployment asks for n replicas (the HPA
// scaled it).
func scaleTo(t *testing.T, c clusterWorld, app string, n int32) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(context.Background(), app, metav1.GetOptions{})
		if err == nil && dep.Spec.Replicas != nil && *dep.Spec.Replicas == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HPA did not scale %s to %d: %v", app, n, err)
		}
		time.Sleep(time.Second)
	}
}

func ptr[T any](v T) *T { return &v }
