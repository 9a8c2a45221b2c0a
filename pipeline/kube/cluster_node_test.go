package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// ghostNode is a Node object with no machine behind it: the test plays
// its kubelet (it reports the node Ready, marks the pods bound to it
// running and Ready, and removes the ones being deleted) until kill,
// after which the node reads as a kubelet that stopped posting status. A
// taint of its own keeps every other pod of the shared cluster off it.
type ghostNode struct {
	w    *world
	name string
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startGhostNode(t *testing.T, w *world) *ghostNode {
	t.Helper()
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	g := &ghostNode{w: w, name: "gs-kube-ghost-" + hex.EncodeToString(id), stop: make(chan struct{})}
	ctx := context.Background()
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: g.name, Labels: map[string]string{"kubernetes.io/hostname": g.name, "gs-kube/ghost": g.name}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: "gs-kube/ghost", Value: g.name, Effect: corev1.TaintEffectNoSchedule}}},
	}
	if _, err := w.admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the ghost node: %v", err)
	}
	t.Cleanup(func() {
		g.kill(t)
		zero := int64(0)
		pods, _ := w.admin.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{})
		for _, p := range pods.Items {
			_ = w.admin.CoreV1().Pods(w.ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}
		_ = w.admin.CoreV1().Nodes().Delete(ctx, g.name, metav1.DeleteOptions{})
	})
	g.setReady(t, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status (played by the test)")
	g.wg.Add(1)
	go g.kubelet()
	// The node controller tainted the new node not-ready; it lifts the
	// taint once it saw the node Ready.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		n, err := w.admin.CoreV1().Nodes().Get(ctx, g.name, metav1.GetOptions{})
		if err == nil && len(n.Spec.Taints) == 1 && nodeReady(n) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ghost node is still tainted not-ready after 60 s (%v)", err)
		}
	}
	return g
}

func (g *ghostNode) setReady(t *testing.T, st corev1.ConditionStatus, reason, msg string) {
	ctx := context.Background()
	// The node controller writes the node too: retry on a conflict.
	var err error
	for try := 0; try < 20; try++ {
		var n *corev1.Node
		n, err = g.w.admin.CoreV1().Nodes().Get(ctx, g.name, metav1.GetOptions{})
		if err != nil {
			break
		}
		now := metav1.Now()
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}}
		res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")}
		n.Status.Capacity, n.Status.Allocatable = res, res
		if _, err = g.w.admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("ghost node status: %v", err)
	}
}

// kubelet is the node's kubelet, played: heartbeats, pods Ready, deleted
// pods removed.
func (g *ghostNode) kubelet() {
	defer g.wg.Done()
	ctx := context.Background()
	pods := g.w.admin.CoreV1().Pods(g.w.ns)
	for beat := 0; ; beat++ {
		select {
		case <-g.stop:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if beat%4 == 0 {
			if n, err := g.w.admin.CoreV1().Nodes().Get(ctx, g.name, metav1.GetOptions{}); err == nil && len(n.Status.Conditions) > 0 {
				n.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
				_, _ = g.w.admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
			}
		}
		list, err := pods.List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + g.name})
		if err != nil {
			continue
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil {
				zero := int64(0)
				_ = pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
				continue
			}
			if !readySince(p).IsZero() {
				continue
			}
			now := metav1.Now()
			p.Status.Phase = corev1.PodRunning
			p.Status.StartTime = &now
			p.Status.Conditions = nil
			for _, ct := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
				p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: ct, Status: corev1.ConditionTrue, LastTransitionTime: now})
			}
			p.Status.ContainerStatuses = nil
			for _, c := range p.Spec.Containers {
				yes := true
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image, Ready: true, Started: &yes, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}})
			}
			_, _ = pods.UpdateStatus(ctx, &p, metav1.UpdateOptions{})
		}
	}
}

// kill stops the played kubelet: the node reads as one whose kubelet
// stopped posting status, as the node controller writes it.
func (g *ghostNode) kill(t *testing.T) {
	g.once.Do(func() {
		close(g.stop)
		g.wg.Wait()
		g.setReady(t, corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.")
	})
}

const ghostApp = `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello-ghost}}
  template:
    metadata: {labels: {app: hello-ghost}}
    spec:
      nodeSelector: {gs-kube/ghost: NODE}
      tolerations: [{key: gs-kube/ghost, operator: Exists, effect: NoSchedule}]
      containers:
      - name: hello
        image: placeholder
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  selector: {app: hello-ghost}
  ports: [{port: 80, targetPort: 8080}]
`

// TestClusterNodeNotReadySaidAtOnce: the app runs on a node whose kubelet
// then dies. The next deploy ends at once naming NodeNotReady and the
// node (not after its 90 s timeout), and does not wait out the rollback
// either: no Ready node can run the previous release's pods, so it
// re-applies them for when the node returns and says so.
func TestClusterNodeNotReadySaidAtOnce(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	g := startGhostNode(t, w)
	manifests := map[string][]byte{"app.yaml": []byte(strings.ReplaceAll(ghostApp, "NODE", g.name))}
	s := w.spec(imgs["v1"], "v1")
	s.Manifests, s.SkipImageCheck = manifests, true
	deployOK(t, c, s)

	g.kill(t)
	s = w.spec(imgs["v2"], "v2")
	s.Manifests, s.Log = manifests, newLog(t)
	res, err := c.Deploy(context.Background(), s)
	var re *RolloutError
	if !errors.As(err, &re) || re.Kind != FailNoNode || res.Outcome != outcome.Failed {
		t.Fatalf("deploy onto a dead node: outcome %s, err %v; want failed with a *RolloutError of kind %s", res.Outcome, err, FailNoNode)
	}
	if !strings.Contains(err.Error(), g.name) || !strings.Contains(err.Error(), "no Ready node can run its pods either") {
		t.Errorf("the error does not name the node and the skipped wait: %v", err)
	}
	if res.Took > 20*time.Second {
		t.Errorf("took %s to say no node can run the pods; want seconds, not the %s timeout (twice)", res.Took, s.Timeout)
	}
	t.Logf("dead node: %s in %s: %v", res.Outcome, res.Took.Round(time.Millisecond), err)
}
