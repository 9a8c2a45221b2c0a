package ciengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// fieldManager owns the fields Apply writes.
const fieldManager = "goship-ci-engine"

// Cluster is a connection to the cluster that runs the engines.
type Cluster struct {
	core   corev1client.CoreV1Interface
	apps   appsv1client.AppsV1Interface
	server string
}

// Connect parses kubeconfig and picks contextName (empty: its current
// context). Nothing is sent until a verb runs.
func Connect(kubeconfig []byte, contextName string) (*Cluster, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("ci engine: parsing kubeconfig: %w", err)
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, contextName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("ci engine: kubeconfig context %q: %w", contextName, err)
	}
	rc.Timeout = 30 * time.Second
	rc.UserAgent = "goship-ci-engine"
	rc.WarningHandler = rest.NoWarnings{}
	c := &Cluster{server: rc.Host}
	if c.core, err = corev1client.NewForConfig(rc); err != nil {
		return nil, fmt.Errorf("ci engine: core/v1 client for %s: %w", rc.Host, err)
	}
	if c.apps, err = appsv1client.NewForConfig(rc); err != nil {
		return nil, fmt.Errorf("ci engine: apps/v1 client for %s: %w", rc.Host, err)
	}
	return c, nil
}

// Pod is one Ready engine.
type Pod struct {
	Name, Node string
	// RunnerHost reaches it through kubectl (see RunnerHost).
	RunnerHost string
}

// Result is what Apply did.
type Result struct {
	Options Options // with the defaults and the GC it sized
	Pods    []Pod   // one per node, sorted by node
}

// Routes says, per node, how a CI runner reaches its engine.
func (r Result) Routes() string {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "engine %s/%s: gc maxUsedSpace %s, reservedSpace %s, minFreeSpace %s\n", o.Namespace, o.Name,
		o.GC.MaxUsedSpace, o.GC.ReservedSpace, o.GC.MinFreeSpace)
	for _, p := range r.Pods {
		fmt.Fprintf(&b, "node %s: export _EXPERIMENTAL_DAGGER_RUNNER_HOST='%s'   (kubectl on PATH)\n", p.Node, p.RunnerHost)
	}
	fmt.Fprintf(&b, "runner pods on those nodes: mount the node's %s at /run/dagger and set _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix:///run/dagger/engine.sock\n", o.RunDir)
	return b.String()
}

// Apply renders o (sizing GC for the smallest matching node when it is
// zero), applies the namespace, ConfigMap and DaemonSet by server-side
// apply, and waits up to timeout until an engine of the current spec is
// Ready on every node it should run on. Applying the same options again
// changes nothing and restarts no engine.
func (c *Cluster) Apply(ctx context.Context, o Options, timeout time.Duration) (Result, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if o.GC.IsZero() {
		disk, err := c.smallestDisk(ctx, o.NodeSelector)
		if err != nil {
			return Result{}, err
		}
		o.GC = GCForDisk(disk)
	}
	objs, err := Render(o)
	if err != nil {
		return Result{}, err
	}
	if err := c.apply("Namespace", o.Namespace, objs.Namespace, func(data []byte, opts metav1.PatchOptions) error {
		_, err := c.core.Namespaces().Patch(ctx, o.Namespace, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return Result{}, err
	}
	if err := c.apply("ConfigMap", o.Name, objs.Config, func(data []byte, opts metav1.PatchOptions) error {
		_, err := c.core.ConfigMaps(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return Result{}, err
	}
	if err := c.apply("DaemonSet", o.Name, objs.Engine, func(data []byte, opts metav1.PatchOptions) error {
		_, err := c.apps.DaemonSets(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
		return err
	}); err != nil {
		return Result{}, err
	}
	pods, err := c.Wait(ctx, o, timeout)
	return Result{Options: o, Pods: pods}, err
}

func (c *Cluster) apply(kind, name string, obj any, patch func([]byte, metav1.PatchOptions) error) error {
	data, err := applyJSON(obj)
	if err != nil {
		return fmt.Errorf("ci engine: encoding %s %s: %w", kind, name, err)
	}
	force := true
	if err := patch(data, metav1.PatchOptions{FieldManager: fieldManager, Force: &force}); err != nil {
		return fmt.Errorf("ci engine: applying %s %s on %s: %w", kind, name, c.server, err)
	}
	return nil
}

// applyJSON is obj as an apply configuration: without the empty status
// and the null creation timestamps the typed objects carry, so the apply
// claims only the fields goship sets.
func applyJSON(obj any) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	var drop func(v any)
	drop = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if ts, ok := t["creationTimestamp"]; ok && ts == nil {
				delete(t, "creationTimestamp")
			}
			for _, c := range t {
				drop(c)
			}
		case []any:
			for _, c := range t {
				drop(c)
			}
		}
	}
	drop(m)
	return json.Marshal(m)
}

// smallestDisk is the smallest ephemeral-storage capacity of the nodes
// that match sel.
func (c *Cluster) smallestDisk(ctx context.Context, sel map[string]string) (int64, error) {
	nodes, err := c.core.Nodes().List(ctx, metav1.ListOptions{LabelSelector: k8slabels.SelectorFromSet(sel).String()})
	if err != nil {
		return 0, fmt.Errorf("ci engine: listing nodes on %s to size the engine's GC: %w (or set the GC limits)", c.server, err)
	}
	var smallest int64
	for _, n := range nodes.Items {
		q, ok := n.Status.Capacity[corev1.ResourceEphemeralStorage]
		if !ok {
			continue
		}
		if v := q.Value(); smallest == 0 || v < smallest {
			smallest = v
		}
	}
	if len(nodes.Items) == 0 {
		return 0, ErrNoNodes
	}
	if smallest == 0 {
		return 0, fmt.Errorf("ci engine: no node on %s reports its ephemeral-storage capacity: set the GC limits", c.server)
	}
	return smallest, nil
}

// PodError is an engine pod that cannot become Ready by waiting: its
// image does not pull, or it keeps crashing.
type PodError struct {
	Pod, Node, Reason, Message string
	Logs                       string // the crashed container's last lines
}

func (e *PodError) Error() string {
	s := fmt.Sprintf("ci engine: pod %s on node %s: %s: %s", e.Pod, e.Node, e.Reason, e.Message)
	if e.Logs != "" {
		s += "\nits last log lines:\n" + e.Logs
	}
	return s
}

// TimeoutError is a rollout that was not done in time.
type TimeoutError struct {
	Name    string
	Waited  time.Duration
	Pending string // what was not Ready yet
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("ci engine: %s not Ready after %s: %s; see kubectl describe pod", e.Name, e.Waited.Round(time.Second), e.Pending)
}

// finalWaits are container waiting reasons that waiting does not mend.
var finalWaits = map[string]bool{
	"ImagePullBackOff": true, "ErrImagePull": true, "InvalidImageName": true,
	"CrashLoopBackOff": true, "CreateContainerConfigError": true, "CreateContainerError": true,
}

// Wait waits up to timeout until the DaemonSet has rolled out: an engine
// of its current spec Ready on every node it should run on, and no old
// one left. It returns those engines.
func (c *Cluster) Wait(ctx context.Context, o Options, timeout time.Duration) ([]Pod, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pods, pending, err := c.check(ctx, o)
		if err != nil || pending == "" {
			return pods, err
		}
		select {
		case <-ctx.Done():
			return nil, &TimeoutError{Name: "DaemonSet " + o.Namespace + "/" + o.Name, Waited: time.Since(start), Pending: pending}
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// check reads the rollout once: the Ready engines, or what is pending.
func (c *Cluster) check(ctx context.Context, o Options) ([]Pod, string, error) {
	ds, err := c.apps.DaemonSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, "", fmt.Errorf("ci engine: DaemonSet %s/%s does not exist on %s: apply it first", o.Namespace, o.Name, c.server)
		}
		return nil, "", fmt.Errorf("ci engine: reading DaemonSet %s/%s on %s: %w", o.Namespace, o.Name, c.server, err)
	}
	list, err := c.core.Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: k8slabels.SelectorFromSet(selector(o)).String()})
	if err != nil {
		return nil, "", fmt.Errorf("ci engine: listing the engine pods in %s on %s: %w", o.Namespace, c.server, err)
	}
	for _, p := range list.Items {
		if perr := c.podFailure(ctx, p); perr != nil {
			return nil, "", perr
		}
	}
	if pending := rolloutPending(ds); pending != "" {
		return nil, pending, nil
	}
	var pods []Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			return nil, "pod " + p.Name + " is still stopping", nil
		}
		if !ready(p) {
			return nil, "pod " + p.Name + " is not Ready", nil
		}
		pods = append(pods, Pod{Name: p.Name, Node: p.Spec.NodeName, RunnerHost: RunnerHost(o.Namespace, p.Name)})
	}
	if int32(len(pods)) != ds.Status.DesiredNumberScheduled { //nolint:gosec // a pod count fits
		return nil, fmt.Sprintf("%d of %d engine pods listed", len(pods), ds.Status.DesiredNumberScheduled), nil
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Node < pods[j].Node })
	return pods, "", nil
}

// rolloutPending says what the DaemonSet's status still waits for, "" when
// it is done.
func rolloutPending(ds *appsv1.DaemonSet) string {
	s := ds.Status
	switch {
	case s.ObservedGeneration < ds.Generation:
		return "the controller has not seen the new spec yet"
	case s.DesiredNumberScheduled == 0:
		return "no node runs an engine yet (check the node selector and taints)"
	case s.UpdatedNumberScheduled < s.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d engines updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)
	case s.NumberReady < s.DesiredNumberScheduled || s.NumberAvailable < s.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d engines Ready", s.NumberReady, s.DesiredNumberScheduled)
	}
	return ""
}

func ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podFailure is a *PodError when p's engine container waits for a reason
// that waiting does not mend.
func (c *Cluster) podFailure(ctx context.Context, p corev1.Pod) error {
	for _, cs := range p.Status.ContainerStatuses {
		w := cs.State.Waiting
		if w == nil || !finalWaits[w.Reason] {
			continue
		}
		e := &PodError{Pod: p.Name, Node: p.Spec.NodeName, Reason: w.Reason, Message: w.Message}
		if cs.LastTerminationState.Terminated != nil {
			tail := int64(20)
			raw, err := c.core.Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: cs.Name, Previous: true, TailLines: &tail}).DoRaw(ctx)
			if err == nil {
				e.Logs = strings.TrimSpace(string(raw))
			}
		}
		return e
	}
	return nil
}

// Remove deletes the engine's DaemonSet and ConfigMap (not the namespace,
// and not the state on the nodes: a later Apply finds it warm) and waits
// up to timeout until its pods are gone.
func (c *Cluster) Remove(ctx context.Context, o Options, timeout time.Duration) error {
	if o.Image == "" {
		o.Image = "unused" // removing needs only the names, not the image
	}
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	bg := metav1.DeletePropagationForeground
	if err := c.apps.DaemonSets(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ci engine: deleting DaemonSet %s/%s on %s: %w", o.Namespace, o.Name, c.server, err)
	}
	if err := c.core.ConfigMaps(o.Namespace).Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("ci engine: deleting ConfigMap %s/%s on %s: %w", o.Namespace, o.Name, c.server, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		list, err := c.core.Pods(o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: k8slabels.SelectorFromSet(selector(o)).String()})
		switch {
		case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			return &TimeoutError{Name: "removing " + o.Namespace + "/" + o.Name, Waited: timeout, Pending: "the engine pods did not stop"}
		case err != nil:
			return fmt.Errorf("ci engine: listing the engine pods in %s on %s: %w", o.Namespace, c.server, err)
		case len(list.Items) == 0:
			return nil
		}
		select {
		case <-ctx.Done():
			return &TimeoutError{Name: "removing " + o.Namespace + "/" + o.Name, Waited: timeout, Pending: fmt.Sprintf("%d engine pods still stopping", len(list.Items))}
		case <-time.After(time.Second):
		}
	}
}
