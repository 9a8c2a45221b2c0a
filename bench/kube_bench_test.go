package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/goship-dev/goship/pipeline/kube"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// BenchmarkKubeUpgrade is issue 22's zero-failed-requests claim on the
// kit's cluster (GOSHIP_KUBECONFIG, GOSHIP_K8S_REGISTRY; scripts/cluster.sh
// ready prints them): hello v1 -> v2, three times each, with goship's
// deploy and with the seeds' way (kubectl apply of a Deployment with a
// readiness probe and no preStop hook, then kubectl rollout status), while
// a client probes the Service every 20 ms:
//
//	go test -run '^$' -bench KubeUpgrade -benchtime 1x ./bench/
func BenchmarkKubeUpgrade(b *testing.B) {
	path, reg := os.Getenv("GOSHIP_KUBECONFIG"), os.Getenv("GOSHIP_K8S_REGISTRY")
	if path == "" || reg == "" {
		b.Skip("CLUSTER UNAVAILABLE: GOSHIP_KUBECONFIG and GOSHIP_K8S_REGISTRY not set")
	}
	kc, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := kubernetes.NewForConfig(rc)
	if err != nil {
		b.Fatal(err)
	}
	registry := &testworld.Registry{Host: reg}
	imgs := map[string]name.Digest{}
	for _, v := range []string{"v1", "v2"} {
		imgs[v] = registry.Push(b, testworld.HelloImage(b, v, false), "goship/bench-hello:"+v)
	}

	type side struct {
		failed, total int
		took          time.Duration
	}
	sides := map[string]*side{"goship": {}, "kubectl apply": {}}
	for i := 0; i < 3; i++ {
		for _, way := range []string{"goship", "kubectl apply"} {
			ns := benchNamespace(b, admin)
			var up func(version string) time.Duration
			if way == "goship" {
				c, err := kube.Connect(context.Background(), kc, "", ns)
				if err != nil {
					b.Fatal(err)
				}
				up = func(version string) time.Duration {
					s := kube.Spec{App: "hello", Image: imgs[version].String(), Port: testworld.HelloPort, Version: version, Who: "bench",
						Settle: 3 * time.Second, Timeout: 2 * time.Minute}
					res, err := c.Deploy(context.Background(), s)
					if err != nil {
						b.Fatalf("goship deploy %s: %v", version, err)
					}
					return res.Took
				}
			} else {
				up = func(version string) time.Duration { return applyAndWait(b, admin, ns, imgs[version].String()) }
			}
			up("v1")
			url := serviceURL(b, admin, ns)
			p := testworld.StartProber(url + "/healthz")
			took := up("v2")
			p.Halt(50)
			s := sides[way]
			s.failed += len(p.Failures())
			s.total += p.Total()
			s.took += took
			b.Logf("%s, run %d: v1 -> v2 in %s, %d of %d requests failed", way, i+1, took.Round(10*time.Millisecond), len(p.Failures()), p.Total())
		}
	}
	fmt.Printf("\nhello v1 -> v2 on the kit's cluster, 3 runs each, probes every 20 ms through the Service\n| way | failed requests | mean upgrade time |\n|---|---|---|\n")
	for _, way := range []string{"goship", "kubectl apply"} {
		s := sides[way]
		fmt.Printf("| %s | %d of %d | %.1f s |\n", way, s.failed, s.total, (s.took / 3).Seconds())
	}
	b.ReportMetric(float64(sides["goship"].failed), "goship-failed")
	b.ReportMetric(float64(sides["kubectl apply"].failed), "kubectl-failed")
}

// benchNamespace is a fresh namespace, deleted after the benchmark.
func benchNamespace(b *testing.B, admin kubernetes.Interface) string {
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	ns := "gs-bench-" + hex.EncodeToString(id)
	if _, err := admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		zero := int64(0)
		_ = admin.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	return ns
}

// applyAndWait is the seeds' way: the Deployment (readiness probe, the
// default rolling update, no preStop hook) and its Service created or
// updated to image, then waited on as `kubectl rollout status` does, until
// no pod of an older ReplicaSet is left.
func applyAndWait(b *testing.B, admin kubernetes.Interface, ns, image string) time.Duration {
	ctx := context.Background()
	start := time.Now()
	labels := map[string]string{"app": "hello"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: int32p(2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "hello", Image: image,
					Ports: []corev1.ContainerPort{{ContainerPort: testworld.HelloPort}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/healthz", Port: intstr.FromInt32(testworld.HelloPort)}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	deps := admin.AppsV1().Deployments(ns)
	if cur, err := deps.Get(ctx, "hello", metav1.GetOptions{}); err == nil {
		cur.Spec = dep.Spec
		if _, err := deps.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	} else {
		if _, err := deps.Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello"}, Spec: corev1.ServiceSpec{Selector: labels,
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(testworld.HelloPort)}}}}
		if _, err := admin.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		d, err := deps.Get(ctx, "hello", metav1.GetOptions{})
		if err == nil && d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == 2 && d.Status.AvailableReplicas == 2 && d.Status.Replicas == 2 {
			pods, err := admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
			if err == nil && len(pods.Items) == 2 {
				return time.Since(start)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatalf("rollout of %s in %s did not finish in 2 minutes", image, ns)
	return 0
}

// serviceURL is the hello Service's ClusterIP, reachable from the host.
func serviceURL(b *testing.B, admin kubernetes.Interface, ns string) string {
	svc, err := admin.CoreV1().Services(ns).Get(context.Background(), "hello", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + svc.Spec.ClusterIP + ":80"
}

func int32p(n int32) *int32 { return &n }
