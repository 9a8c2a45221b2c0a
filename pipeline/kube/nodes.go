package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// nodeView is the cluster's nodes as one gate look saw them. A
// namespace-scoped credential may not list nodes: then known is false and
// the gate judges by the pods alone.
type nodeView struct {
	known bool
	nodes []corev1.Node
}

func (c *Cluster) nodes(ctx context.Context) *nodeView {
	list, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return &nodeView{}
	}
	return &nodeView{known: true, nodes: list.Items}
}

// nodeReady is why n is not Ready, or "".
func nodeReady(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		return fmt.Sprintf("Ready=%s since %s (%s: %s)", c.Status, c.LastTransitionTime.Format("15:04:05"), c.Reason, c.Message)
	}
	return "no Ready condition: its kubelet never reported"
}

// notReady is why node name is not Ready ("" if it is, or is unknown).
func (v *nodeView) notReady(name string) string {
	for i := range v.nodes {
		if v.nodes[i].Name == name {
			return nodeReady(&v.nodes[i])
		}
	}
	return ""
}

// anyCanRun: some Ready, schedulable node matches p's node selector and
// has no NoSchedule or NoExecute taint p does not tolerate. Node affinity
// is not evaluated (it can only narrow the choice further).
func (v *nodeView) anyCanRun(p corev1.Pod) bool {
	sel := labels.SelectorFromSet(p.Spec.NodeSelector)
	for i := range v.nodes {
		n := &v.nodes[i]
		if n.Spec.Unschedulable || nodeReady(n) != "" || !sel.Matches(labels.Set(n.Labels)) {
			continue
		}
		if tolerates(p.Spec.Tolerations, n.Spec.Taints) {
			return true
		}
	}
	return false
}

func tolerates(tols []corev1.Toleration, taints []corev1.Taint) bool {
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for j := range tols {
			ok = ok || tols[j].ToleratesTaint(logr.Discard(), t, false)
		}
		if !ok {
			return false
		}
	}
	return true
}

// summary lists the nodes and their readiness, for an error.
func (v *nodeView) summary() string {
	parts := make([]string, 0, len(v.nodes))
	for i := range v.nodes {
		n := &v.nodes[i]
		st := "Ready"
		if nodeReady(n) != "" {
			st = "NotReady"
		}
		if n.Spec.Unschedulable {
			st += ",SchedulingDisabled"
		}
		parts = append(parts, n.Name+" "+st)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "the cluster has no nodes"
	}
	return strings.Join(parts, ", ")
}

// noNodeFor: nodes are known and none could run a pod of tmpl; a
// rollback whose pods no node can run is not waited for.
func (v *nodeView) noNodeFor(tmpl corev1.PodSpec) bool {
	return v.known && !v.anyCanRun(corev1.Pod{Spec: tmpl})
}
