package kube

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// State is what runs for an app now.
type State struct {
	App, Namespace string
	// Deployment is the one that serves: the app's, or the live color's
	// (<app>-blue, <app>-green).
	Deployment     string
	Release        *Release // the release the Deployment names; nil if unrecorded
	Deployed       bool     // a Deployment exists
	Image          string   // the app container's live image
	Matches        bool     // Image is Release's image
	Rollout        string   // kstatus: Current, InProgress, Failed, …
	Message        string   // kstatus's message
	Replicas       int32    // wanted
	Ready, Updated int32
	Pods           []PodState // of the current ReplicaSet
}

// PodState is one pod of the current ReplicaSet.
type PodState struct {
	Name     string
	Ready    bool
	Restarts int32
	Phase    string
}

// Status reads app's Deployment, its rollout status and its newest pods.
func (c *Cluster) Status(ctx context.Context, app string) (*State, error) {
	st := &State{App: app, Namespace: c.namespace}
	name, err := c.liveDeployment(ctx, app)
	if err != nil {
		return nil, err
	}
	st.Deployment = name
	dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Deployment %s in namespace %s: %w", name, c.namespace, err)
	}
	st.Deployed = true
	if dep.Spec.Replicas != nil {
		st.Replicas = *dep.Spec.Replicas
	}
	st.Ready, st.Updated = dep.Status.ReadyReplicas, dep.Status.UpdatedReplicas
	for _, ct := range dep.Spec.Template.Spec.Containers {
		if ct.Name == app || len(dep.Spec.Template.Spec.Containers) == 1 {
			st.Image = ct.Image
		}
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(dep)
	if err != nil {
		return nil, fmt.Errorf("converting Deployment %s: %w", app, err)
	}
	u := unstructuredOf(m, "apps/v1", "Deployment")
	if res, err := status.Compute(u); err == nil {
		st.Rollout, st.Message = res.Status.String(), res.Message
	}
	rels, err := c.Releases(ctx, app)
	if err != nil {
		return nil, err
	}
	for i := range rels {
		if rels[i].Current {
			st.Release = &rels[i]
			st.Matches = rels[i].Image == st.Image
		}
	}
	pods, err := c.newPods(ctx, name)
	if err == nil {
		for _, p := range pods {
			ps := PodState{Name: p.Name, Ready: !readySince(p).IsZero(), Phase: string(p.Status.Phase)}
			for _, cs := range p.Status.ContainerStatuses {
				ps.Restarts += cs.RestartCount
			}
			st.Pods = append(st.Pods, ps)
		}
	}
	return st, nil
}

// FormatReleases is the releases table, newest first, the current one
// starred.
func FormatReleases(rels []Release) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "\tRELEASE\tOUTCOME\tVERSION\tIMAGE\tBY")
	for _, r := range rels {
		mark := ""
		if r.Current {
			mark = "*"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Name, outcomeLabel(r.Outcome), orDash(r.Version), r.Image, r.Who)
	}
	_ = tw.Flush()
	return b.String()
}

// FormatStatus is a verdict line, then the release, the rollout and the
// pods.
func FormatStatus(st *State) string {
	if !st.Deployed {
		return fmt.Sprintf("NOT DEPLOYED: no Deployment %s in namespace %s\n", st.App, st.Namespace)
	}
	verdict := "OK"
	switch {
	case st.Ready == 0:
		verdict = "DOWN"
	case st.Release == nil:
		verdict = "UNRECORDED: the Deployment names no release goship recorded"
	case !st.Matches:
		verdict = "DRIFT: the Deployment does not run the current release's image"
	case st.Rollout != status.CurrentStatus.String():
		verdict = strings.ToUpper(st.Rollout)
	case st.Ready < st.Replicas:
		verdict = "DEGRADED"
	}
	rel, img, ver := "-", st.Image, "-"
	if st.Release != nil {
		rel, ver = st.Release.Name, orDash(st.Release.Version)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: release %s (%s, version %s)\n", verdict, rel, img, ver)
	fmt.Fprintf(&b, "rollout: %s, %d/%d ready, %d updated", orDash(st.Rollout), st.Ready, st.Replicas, st.Updated)
	if st.Deployment != "" && st.Deployment != st.App {
		fmt.Fprintf(&b, " (blue-green: Deployment %s)", st.Deployment)
	}
	if st.Message != "" {
		fmt.Fprintf(&b, " (%s)", st.Message)
	}
	b.WriteString("\n")
	for _, p := range st.Pods {
		ready := "not ready"
		if p.Ready {
			ready = "ready"
		}
		fmt.Fprintf(&b, "pod %s: %s, %s, %d restarts\n", p.Name, p.Phase, ready, p.Restarts)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
