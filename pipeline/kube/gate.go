package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// pollEvery is how often the gate looks at the rollout.
const pollEvery = time.Second

// gate waits until every object in objs is Current (kstatus) and every pod
// of the app Deployment's newest ReplicaSet has been Ready for settle
// without a restart. It fails at once on a pod that cannot pull its image,
// crash-loops or restarts, and after timeout otherwise, naming the check.
func (c *Cluster) gate(ctx context.Context, app string, objs []*unstructured.Unstructured, timeout, settle time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		done, why, err := c.check(ctx, app, objs, settle)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("rollout of %s did not finish within %s: %s", app, timeout, last)
			}
			return fmt.Errorf("rollout of %s interrupted (%s): %w", app, last, context.Cause(ctx))
		case <-time.After(pollEvery):
		}
	}
}

// check looks once. It returns done, or why not yet, or a failure that
// waiting will not cure.
func (c *Cluster) check(ctx context.Context, app string, objs []*unstructured.Unstructured, settle time.Duration) (bool, string, error) {
	for _, o := range objs {
		r, err := c.resource(o)
		if err != nil {
			return false, "", err
		}
		live, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, fmt.Sprintf("reading %s %s: %v", o.GetKind(), o.GetName(), err), nil
		}
		res, err := status.Compute(live)
		if err != nil {
			return false, "", fmt.Errorf("computing the status of %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		switch res.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			return false, "", fmt.Errorf("%s %s failed: %s%s", o.GetKind(), o.GetName(), res.Message, c.podHints(ctx, app))
		default:
			why := fmt.Sprintf("%s %s is %s: %s", o.GetKind(), o.GetName(), res.Status, res.Message)
			if o.GetKind() == "Deployment" && o.GetName() == app {
				if err := c.podFailure(ctx, app); err != nil {
					return false, "", err
				}
				why += c.podHints(ctx, app)
			}
			return false, why, nil
		}
	}
	pods, old, err := c.appPods(ctx, app)
	if err != nil {
		return false, err.Error(), nil
	}
	if err := c.podFailure(ctx, app); err != nil {
		return false, "", err
	}
	for _, p := range pods {
		ready := readySince(p)
		if ready.IsZero() {
			return false, fmt.Sprintf("pod %s is not Ready%s", p.Name, c.podHints(ctx, app)), nil
		}
		if age := time.Since(ready); age < settle {
			return false, fmt.Sprintf("pod %s Ready for %s of the %s settle window", p.Name, age.Round(time.Second), settle), nil
		}
	}
	// Done means only the new release serves: a pod of an older one
	// keeps answering through its preStop sleep, and a deploy that
	// returned then would leave the old version reachable for a while.
	if len(old) > 0 {
		return false, fmt.Sprintf("pod %s of an older release is still stopping", old[0].Name), nil
	}
	return true, "", nil
}

// newPods are the live pods of the app Deployment's current ReplicaSet.
func (c *Cluster) newPods(ctx context.Context, app string) ([]corev1.Pod, error) {
	pods, _, err := c.appPods(ctx, app)
	return pods, err
}

// appPods are the live pods of the app Deployment's current ReplicaSet,
// and the other pods of the Deployment (older releases', stopping or not).
func (c *Cluster) appPods(ctx context.Context, app string) (current, old []corev1.Pod, err error) {
	dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("reading Deployment %s: %w", app, err)
	}
	// Until the controller has seen the applied spec, the revision
	// annotation still names the ReplicaSet being replaced: right after a
	// rollback's apply that is the failed release's, whose restarts must
	// not fail the rollback's own gate.
	if dep.Status.ObservedGeneration < dep.Generation {
		return nil, nil, fmt.Errorf("the controller has not yet observed generation %d of Deployment %s", dep.Generation, app)
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("selector of Deployment %s: %w", app, err)
	}
	rss, err := c.kube.AppsV1().ReplicaSets(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the ReplicaSets of %s: %w", app, err)
	}
	var rs *appsv1.ReplicaSet
	for i := range rss.Items {
		r := &rss.Items[i]
		if metav1.IsControlledBy(r, dep) && r.Annotations[annoRevision] == dep.Annotations[annoRevision] {
			rs = r
		}
	}
	if rs == nil {
		return nil, nil, fmt.Errorf("no ReplicaSet yet for revision %s of Deployment %s", dep.Annotations[annoRevision], app)
	}
	list, err := c.kube.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the pods of %s: %w", app, err)
	}
	for _, p := range list.Items {
		switch {
		case metav1.IsControlledBy(&p, rs) && p.DeletionTimestamp == nil:
			current = append(current, p)
		case !metav1.IsControlledBy(&p, rs):
			old = append(old, p)
		}
	}
	sort.Slice(current, func(i, j int) bool { return current[i].Name < current[j].Name })
	return current, old, nil
}

func readySince(p corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// fatalWaiting are container states that waiting does not cure.
var fatalWaiting = map[string]bool{
	"ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true, "CrashLoopBackOff": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// podFailure is the first new pod that cannot become healthy: it cannot
// pull or start its image, or a container restarted.
func (c *Cluster) podFailure(ctx context.Context, app string) error {
	pods, err := c.newPods(ctx, app)
	if err != nil {
		return nil // not there yet: the rollout is still starting
	}
	for _, p := range pods {
		if p.Status.Phase == corev1.PodFailed {
			return fmt.Errorf("pod %s failed: %s %s", p.Name, p.Status.Reason, p.Status.Message)
		}
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && fatalWaiting[w.Reason] {
				if w.Reason == "ErrImagePull" && !pullIsFinal(w.Message) {
					continue // maybe a passing registry hiccup; ImagePullBackOff follows if not
				}
				return fmt.Errorf("pod %s: container %s: %s: %s%s", p.Name, cs.Name, w.Reason, w.Message, c.lastLogs(ctx, p.Name, cs.Name, cs.RestartCount > 0))
			}
			if cs.RestartCount > 0 {
				why := ""
				if t := cs.LastTerminationState.Terminated; t != nil {
					why = fmt.Sprintf(" (last exit: %s, code %d)", t.Reason, t.ExitCode)
				}
				return fmt.Errorf("pod %s: container %s restarted %d times%s%s%s", p.Name, cs.Name, cs.RestartCount, why, c.lastEvent(ctx, p.Name), c.lastLogs(ctx, p.Name, cs.Name, true))
			}
		}
	}
	return nil
}

// pullIsFinal: the registry answered that the image is not there or not
// allowed, as opposed to a network error.
func pullIsFinal(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"not found", "manifest unknown", "unauthorized", "denied", "forbidden"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// podHints says why new pods are not Ready yet: the latest warning event
// of each (a failing probe, an unschedulable pod).
func (c *Cluster) podHints(ctx context.Context, app string) string {
	pods, err := c.newPods(ctx, app)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range pods {
		if readySince(p).IsZero() {
			if e := c.lastEvent(ctx, p.Name); e != "" {
				fmt.Fprintf(&b, "; pod %s%s", p.Name, e)
			}
		}
	}
	return b.String()
}

// lastEvent is the newest Warning event of a pod, as ": reason: message".
func (c *Cluster) lastEvent(ctx context.Context, pod string) string {
	evs, err := c.kube.CoreV1().Events(c.namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,involvedObject.name=" + pod})
	if err != nil {
		return ""
	}
	var last *corev1.Event
	var lastAt time.Time
	for i := range evs.Items {
		e := &evs.Items[i]
		at := e.LastTimestamp.Time
		if at.IsZero() {
			at = e.EventTime.Time
		}
		if e.Type == corev1.EventTypeWarning && !at.Before(lastAt) {
			last, lastAt = e, at
		}
	}
	if last == nil {
		return ""
	}
	return fmt.Sprintf(": %s: %s", last.Reason, strings.TrimSpace(last.Message))
}

// lastLogs are the last lines a container wrote (its previous instance's
// if it restarted), as "; last log lines: …".
func (c *Cluster) lastLogs(ctx context.Context, pod, container string, previous bool) string {
	tail, limit := int64(5), int64(2048)
	raw, err := c.kube.CoreV1().Pods(c.namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &tail, LimitBytes: &limit, Previous: previous}).DoRaw(ctx)
	if err != nil || len(strings.TrimSpace(string(raw))) == 0 {
		return ""
	}
	return "; last log lines: " + strings.Join(strings.Split(strings.TrimSpace(string(raw)), "\n"), " | ")
}
