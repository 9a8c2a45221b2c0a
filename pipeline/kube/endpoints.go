package kube

import (
	"context"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var endpointSliceResource = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}

// waitEndpoints waits (at most timeout) until every ready endpoint of
// svcs is a pod of Deployment dep, and there is one: the control plane
// has moved the traffic. kube-proxy on each node follows on its own;
// that part is what the drain window covers. A credential that may not
// read EndpointSlices skips the wait with a line.
func (c *Cluster) waitEndpoints(ctx context.Context, svcs []*unstructured.Unstructured, dep string, timeout time.Duration, log *progress) {
	start := time.Now()
	deadline := start.Add(timeout)
	for _, svc := range svcs {
		for {
			ok, err := c.endpointsOf(ctx, svc.GetName(), dep)
			if err != nil {
				log.printf("not waiting for the endpoints of Service %s: %v", svc.GetName(), err)
				break
			}
			if ok {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				log.printf("the endpoints of Service %s still list pods other than %s's after %s", svc.GetName(), dep, timeout)
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	if d := time.Since(start); d > time.Second {
		log.printf("the Service endpoints moved to %s %s after the switch", dep, d.Round(100*time.Millisecond))
	}
}

// endpointsOf: every ready endpoint of Service svc is a pod of dep (by
// name: <dep>-<replicaset hash>-<suffix>), and there is at least one.
func (c *Cluster) endpointsOf(ctx context.Context, svc, dep string) (bool, error) {
	list, err := c.dyn.Resource(endpointSliceResource).Namespace(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		return false, err
	}
	mine := 0
	for _, sl := range list.Items {
		eps, _, _ := unstructured.NestedSlice(sl.Object, "endpoints")
		for _, e := range eps {
			m, _ := e.(map[string]any)
			ready, found, _ := unstructured.NestedBool(m, "conditions", "ready")
			if found && !ready {
				continue
			}
			pod, _, _ := unstructured.NestedString(m, "targetRef", "name")
			if !strings.HasPrefix(pod, dep+"-") {
				return false, nil
			}
			mine++
		}
	}
	return mine > 0, nil
}

// waitPodsGone waits (at most timeout) until Deployment dep has no pods
// left: scaled to zero, they serve through their preStop sleep first.
func (c *Cluster) waitPodsGone(ctx context.Context, dep string, timeout time.Duration, log *progress) {
	d, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, dep, metav1.GetOptions{})
	if err != nil {
		return
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && ctx.Err() == nil; {
		pods, err := c.kube.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil || len(pods.Items) == 0 {
			return
		}
		log.state(dep + ": " + pods.Items[0].Name + " of the old color is stopping")
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
}
