package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// unschedulableGrace is how long a pod may stay Unschedulable before the
// gate calls it certain. A cluster autoscaler (common on ACK node pools)
// reacts within about ten seconds with a TriggeredScaleUp event, which
// keeps the gate waiting, or NotTriggerScaleUp, which ends it at once.
const unschedulableGrace = 20 * time.Second

// configErrorGrace is how long a container may wait in
// CreateContainerConfigError before the gate calls it certain. The kubelet
// gives that reason both for a Secret or ConfigMap that does not exist and
// for one its cache has not synced yet (a release's new env Secret on a
// busy node: "failed to sync secret cache"), and retries either way, 10 to
// 15 s after the failed try; only the missing one lasts.
const configErrorGrace = 30 * time.Second

// watcher is one gate's memory between looks: which pods it saw Ready
// (one that leaves Ready fails the settle window), which events it
// already printed, since when a pod is Unschedulable, and since when a
// container waits in CreateContainerConfigError.
type watcher struct {
	c              *Cluster
	g              gateSpec
	log            *progress
	seenReady      map[types.UID]bool
	seenEvents     map[string]bool
	unschedSince   map[types.UID]time.Time
	configErrSince map[string]time.Time // by pod UID and container name
}

// look is one reading of the Deployment, its newest ReplicaSet, their
// pods and the namespace's new events.
type look struct {
	current, old []corev1.Pod
	summary      string // "hello: 1/2 new pods ready"
	why          string // not ready to be judged yet
}

func (w *watcher) look(ctx context.Context) (look, error) {
	var l look
	dep, err := w.c.kube.AppsV1().Deployments(w.c.namespace).Get(ctx, w.g.deployment, metav1.GetOptions{})
	if err != nil {
		l.why = fmt.Sprintf("reading Deployment %s: %v", w.g.deployment, err)
		return l, nil
	}
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	l.summary = fmt.Sprintf("%s: 0/%d new pods ready", w.g.deployment, want)
	evs := w.events(ctx)
	// Until the controller has seen the applied spec, the revision
	// annotation still names the ReplicaSet being replaced: right after a
	// rollback's apply that is the failed release's, whose restarts must
	// not fail the rollback's own gate.
	if dep.Status.ObservedGeneration < dep.Generation {
		l.why = fmt.Sprintf("%s: the controller has not yet seen generation %d", w.g.deployment, dep.Generation)
		return l, nil
	}
	rs, all, err := w.c.currentReplicaSet(ctx, dep)
	if err != nil {
		l.why = err.Error()
		return l, nil
	}
	if err := w.replicaFailure(ctx, rs, evs); err != nil {
		return l, err
	}
	l.current, l.old, err = w.c.podsOf(ctx, dep, rs, all)
	if err != nil {
		l.why = err.Error()
		return l, nil
	}
	ready, restarts := 0, int32(0)
	for _, p := range l.current {
		if !readySince(p).IsZero() {
			ready++
		}
		for _, cs := range p.Status.ContainerStatuses {
			restarts += cs.RestartCount
		}
	}
	l.summary = fmt.Sprintf("%s: %d/%d new pods ready", w.g.deployment, ready, want)
	if restarts > 0 {
		l.summary += fmt.Sprintf(", %d restarts", restarts)
	}
	if n := len(l.old); n > 0 {
		l.summary += fmt.Sprintf(", %d old pods", n)
	}
	if err := w.podFailure(ctx, l.current, evs); err != nil {
		return l, err
	}
	return l, nil
}

// currentReplicaSet is the ReplicaSet of dep's current revision, and all
// of dep's ReplicaSets.
func (c *Cluster) currentReplicaSet(ctx context.Context, dep *appsv1.Deployment) (*appsv1.ReplicaSet, []appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("selector of Deployment %s: %w", dep.Name, err)
	}
	rss, err := c.kube.AppsV1().ReplicaSets(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the ReplicaSets of %s: %w", dep.Name, err)
	}
	var mine []appsv1.ReplicaSet
	var rs *appsv1.ReplicaSet
	for i := range rss.Items {
		r := &rss.Items[i]
		if !metav1.IsControlledBy(r, dep) {
			continue
		}
		mine = append(mine, *r)
		if r.Annotations[annoRevision] == dep.Annotations[annoRevision] {
			rs = r
		}
	}
	if rs == nil {
		return nil, nil, fmt.Errorf("%s: no ReplicaSet yet for revision %s", dep.Name, dep.Annotations[annoRevision])
	}
	return rs, mine, nil
}

// podsOf are the live pods of rs, and dep's other pods (older releases',
// stopping or not).
func (c *Cluster) podsOf(ctx context.Context, dep *appsv1.Deployment, rs *appsv1.ReplicaSet, all []appsv1.ReplicaSet) (current, old []corev1.Pod, err error) {
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, nil, fmt.Errorf("selector of Deployment %s: %w", dep.Name, err)
	}
	list, err := c.kube.CoreV1().Pods(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, fmt.Errorf("listing the pods of %s: %w", dep.Name, err)
	}
	for _, p := range list.Items {
		owned := false
		for i := range all {
			owned = owned || metav1.IsControlledBy(&p, &all[i])
		}
		switch {
		case metav1.IsControlledBy(&p, rs) && p.DeletionTimestamp == nil:
			current = append(current, p)
		case owned && !metav1.IsControlledBy(&p, rs):
			old = append(old, p)
		}
	}
	sort.Slice(current, func(i, j int) bool { return current[i].Name < current[j].Name })
	return current, old, nil
}

// newPods are the live pods of Deployment name's current ReplicaSet.
func (c *Cluster) newPods(ctx context.Context, name string) ([]corev1.Pod, error) {
	dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Deployment %s: %w", name, err)
	}
	rs, all, err := c.currentReplicaSet(ctx, dep)
	if err != nil {
		return nil, err
	}
	pods, _, err := c.podsOf(ctx, dep, rs, all)
	return pods, err
}

func readySince(p corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// replicaFailure ends the gate when the ReplicaSet cannot create its pods
// (quota, Pod Security, another admission check): its ReplicaFailure
// condition or a FailedCreate event says so within a second.
func (w *watcher) replicaFailure(ctx context.Context, rs *appsv1.ReplicaSet, evs []corev1.Event) error {
	reason, msg := "", ""
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			reason, msg = c.Reason, c.Message
		}
	}
	for _, e := range evs {
		if e.InvolvedObject.Kind == "ReplicaSet" && e.InvolvedObject.Name == rs.Name && e.Reason == "FailedCreate" {
			reason, msg = e.Reason, e.Message
		}
	}
	if reason != "FailedCreate" {
		return nil
	}
	kind, certain := classifyRefusal(msg)
	if !certain {
		return nil // a passing API error: the controller retries
	}
	re := &RolloutError{Kind: kind, Object: "ReplicaSet " + rs.Name, Reason: reason, Message: msg}
	if kind == FailQuota {
		re.Quotas = w.quotasIn(ctx, msg)
	}
	return re
}

// classifyRefusal reads the API server's refusal of a pod (the cluster's
// words, as data): certain when the server refused it for good.
func classifyRefusal(msg string) (FailureKind, bool) {
	switch {
	case strings.Contains(msg, "exceeded quota"):
		return FailQuota, true
	case strings.Contains(msg, "violates PodSecurity"):
		return FailPodSecurity, true
	case strings.Contains(msg, "is forbidden") || strings.Contains(msg, "denied the request") || strings.Contains(msg, "is invalid"):
		return FailAdmission, true
	}
	return "", false
}

// quotasIn are the namespace's ResourceQuotas the refusal names, or, if
// it names none, those that are used up.
func (w *watcher) quotasIn(ctx context.Context, msg string) []string {
	list, err := w.c.kube.CoreV1().ResourceQuotas(w.c.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var named, full []string
	for _, q := range list.Items {
		if strings.Contains(msg, "exceeded quota: "+q.Name+",") || strings.HasSuffix(msg, "exceeded quota: "+q.Name) {
			named = append(named, q.Name)
		}
		for res, hard := range q.Status.Hard {
			if used, ok := q.Status.Used[res]; ok && used.Cmp(hard) >= 0 {
				full = append(full, q.Name)
				break
			}
		}
	}
	if len(named) > 0 {
		return named
	}
	return full
}

// fatalWaiting are container states that waiting does not cure.
var fatalWaiting = map[string]FailureKind{
	"ImagePullBackOff": FailImagePull, "ErrImagePull": FailImagePull, "InvalidImageName": FailImagePull, "ErrImageNeverPull": FailImagePull,
	"CrashLoopBackOff": FailCrash, "CreateContainerConfigError": FailCrash, "CreateContainerError": FailCrash, "RunContainerError": FailCrash,
}

// podFailure is the first new pod that cannot become healthy: it cannot
// pull or start its image, restarted, left Ready, cannot be scheduled, or
// sits on a node that is not Ready.
func (w *watcher) podFailure(ctx context.Context, pods []corev1.Pod, evs []corev1.Event) error {
	nodes := w.c.nodes(ctx)
	for _, p := range pods {
		obj := "Pod " + p.Name
		if p.Status.Phase == corev1.PodFailed {
			return &RolloutError{Kind: FailCrash, Object: obj, Reason: p.Status.Reason, Message: p.Status.Message}
		}
		for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			wt := cs.State.Waiting
			configKey := string(p.UID) + "/" + cs.Name
			if wt == nil || wt.Reason != "CreateContainerConfigError" {
				delete(w.configErrSince, configKey)
			}
			if wt != nil {
				if kind, ok := fatalWaiting[wt.Reason]; ok {
					if wt.Reason == "ErrImagePull" && !pullIsFinal(wt.Message) {
						continue // maybe a passing registry hiccup; ImagePullBackOff follows if not
					}
					msg := wt.Message
					if wt.Reason == "CreateContainerConfigError" {
						if heldFor(w.configErrSince, configKey) < configErrorGrace {
							continue // maybe a Secret the kubelet has not synced yet
						}
						msg += fmt.Sprintf(" (for %s)", configErrorGrace)
					}
					return &RolloutError{Kind: kind, Object: obj + ", container " + cs.Name, Reason: wt.Reason, Message: msg, Logs: w.c.lastLogs(ctx, p.Name, cs.Name, cs.RestartCount > 0)}
				}
			}
			if cs.RestartCount > 0 {
				why := fmt.Sprintf("restarted %d times", cs.RestartCount)
				msg := ""
				if t := cs.LastTerminationState.Terminated; t != nil {
					why += fmt.Sprintf(" (last exit: %s, code %d)", t.Reason, t.ExitCode)
					msg = strings.TrimSpace(t.Message)
				}
				if e := lastWarning(evs, "Pod", p.Name); e != nil && msg == "" {
					msg = e.Reason + ": " + strings.TrimSpace(e.Message)
				}
				return &RolloutError{Kind: FailCrash, Object: obj + ", container " + cs.Name, Reason: why, Message: msg, Logs: w.c.lastLogs(ctx, p.Name, cs.Name, true)}
			}
		}
		if err := w.schedulingFailure(p, nodes, evs); err != nil {
			return err
		}
		if !readySince(p).IsZero() {
			w.seenReady[p.UID] = true
			continue
		}
		if w.seenReady[p.UID] {
			re := &RolloutError{Kind: FailUnready, Object: obj, Reason: "was Ready, then left Ready during the settle window"}
			if e := lastWarning(evs, "Pod", p.Name); e != nil {
				re.Reason += " (" + e.Reason + ")"
				re.Message = strings.TrimSpace(e.Message)
			}
			return re
		}
	}
	return nil
}

// heldFor is how long the condition kept under key has held, from the
// first look that saw it (that look starts the clock). The caller deletes
// key from since when the condition no longer holds.
func heldFor[K comparable](since map[K]time.Time, key K) time.Duration {
	t, ok := since[key]
	if !ok {
		t = time.Now()
		since[key] = t
	}
	return time.Since(t)
}

// schedulingFailure: the pod's node is not Ready, or the scheduler found
// no node and none will come.
func (w *watcher) schedulingFailure(p corev1.Pod, nodes *nodeView, evs []corev1.Event) error {
	obj := "Pod " + p.Name
	if p.Spec.NodeName != "" {
		if why := nodes.notReady(p.Spec.NodeName); why != "" {
			return &RolloutError{Kind: FailNoNode, Object: obj, Node: p.Spec.NodeName, Reason: "NodeNotReady", Message: fmt.Sprintf("node %s: %s", p.Spec.NodeName, why)}
		}
		return nil
	}
	var cond *corev1.PodCondition
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			cond = c
		}
	}
	if cond == nil {
		delete(w.unschedSince, p.UID)
		return nil
	}
	if nodes.known && !nodes.anyCanRun(p) {
		return &RolloutError{Kind: FailNoNode, Object: obj, Reason: corev1.PodReasonUnschedulable, Message: cond.Message + " (no Ready node matches the pod's node selector and tolerations: " + nodes.summary() + ")"}
	}
	if hasEvent(evs, "Pod", p.Name, "NotTriggerScaleUp") {
		return &RolloutError{Kind: FailUnschedulable, Object: obj, Reason: corev1.PodReasonUnschedulable, Message: cond.Message}
	}
	if hasEvent(evs, "Pod", p.Name, "TriggeredScaleUp") {
		return nil // a node is coming
	}
	if heldFor(w.unschedSince, p.UID) >= unschedulableGrace {
		return &RolloutError{Kind: FailUnschedulable, Object: obj, Reason: corev1.PodReasonUnschedulable, Message: cond.Message + fmt.Sprintf(" (for %s, and no cluster autoscaler announced a scale-up)", unschedulableGrace)}
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

// events are the namespace's events about this gate's Deployment, its
// ReplicaSets and pods since the gate began, oldest first; each Warning
// (and each scale-up notice) not printed before becomes a progress line.
func (w *watcher) events(ctx context.Context) []corev1.Event {
	list, err := w.c.kube.CoreV1().Events(w.c.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []corev1.Event
	for _, e := range list.Items {
		name := e.InvolvedObject.Name
		if name != w.g.deployment && !strings.HasPrefix(name, w.g.deployment+"-") {
			continue
		}
		if eventTime(e).Before(w.g.since.Add(-time.Second)) {
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).Before(eventTime(out[j])) })
	for _, e := range out {
		key := string(e.UID) // a repeat of the same event (its count going up) is not news
		if w.seenEvents[key] || (e.Type != corev1.EventTypeWarning && e.Reason != "TriggeredScaleUp") {
			continue
		}
		w.seenEvents[key] = true
		w.log.printf("%s %s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message))
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	for _, t := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time} {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// lastWarning is the newest Warning event about kind/name.
func lastWarning(evs []corev1.Event, kind, name string) *corev1.Event {
	var last *corev1.Event
	for i := range evs {
		e := &evs[i]
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning {
			last = e
		}
	}
	return last
}

func hasEvent(evs []corev1.Event, kind, name, reason string) bool {
	for _, e := range evs {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name && e.Reason == reason {
			return true
		}
	}
	return false
}

// lastLogs are the last lines a container wrote (its previous instance's
// if it restarted), joined by " | ".
func (c *Cluster) lastLogs(ctx context.Context, pod, container string, previous bool) string {
	tail, limit := int64(5), int64(2048)
	raw, err := c.kube.CoreV1().Pods(c.namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &tail, LimitBytes: &limit, Previous: previous}).DoRaw(ctx)
	if err != nil || len(strings.TrimSpace(string(raw))) == 0 {
		return ""
	}
	return strings.Join(strings.Split(strings.TrimSpace(string(raw)), "\n"), " | ")
}
