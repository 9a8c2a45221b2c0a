package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// The colors of a blue-green app, and the label that tells them apart.
const (
	colorBlue  = "blue"
	colorGreen = "green"
	labelColor = "goship.dev/color"
)

func otherColor(c string) string {
	if c == colorBlue {
		return colorGreen
	}
	return colorBlue
}

func colorDeployment(app, color string) string { return app + "-" + color }
func previewService(app string) string         { return app + "-preview" }

// blueGreen runs each release as a color beside the live one and moves
// the live Service only once the new color passed its gate.
type blueGreen struct{}

// colored is a release's objects dressed as one color: the app's
// Deployment renamed <app>-<color> with the color in its selector and pod
// labels; the live Services (those selecting the app's pods) selecting
// that color, held back for the switch; and the preview Service.
type colored struct {
	objs    []*unstructured.Unstructured // everything but the live Services
	live    []*unstructured.Unstructured // the live Services, selecting color
	dep     string
	preview *unstructured.Unstructured
}

func colorize(objs []*unstructured.Unstructured, app, color string) (colored, error) {
	out := colored{dep: colorDeployment(app, color)}
	src := appDeployment(objs, app)
	if src == nil {
		return out, fmt.Errorf("blue-green: the release has no Deployment %q", app)
	}
	podLabels, _, _ := unstructured.NestedStringMap(src.Object, "spec", "template", "metadata", "labels")
	for _, o := range objs {
		o = o.DeepCopy()
		switch {
		case o.GetKind() == "Deployment" && o.GetName() == app:
			o.SetName(out.dep)
			setLabel(o, labelColor, color)
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
			sel[labelColor] = color
			tmpl, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
			tmpl[labelColor] = color
			if err := unstructured.SetNestedStringMap(o.Object, sel, "spec", "selector", "matchLabels"); err != nil {
				return out, fmt.Errorf("blue-green: Deployment %s: %w", app, err)
			}
			if err := unstructured.SetNestedStringMap(o.Object, tmpl, "spec", "template", "metadata", "labels"); err != nil {
				return out, fmt.Errorf("blue-green: Deployment %s: %w", app, err)
			}
			out.objs = append(out.objs, o)
		case o.GetKind() == "Service" && selects(o, podLabels):
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
			sel[labelColor] = color
			if err := unstructured.SetNestedStringMap(o.Object, sel, "spec", "selector"); err != nil {
				return out, fmt.Errorf("blue-green: Service %s: %w", o.GetName(), err)
			}
			out.live = append(out.live, o)
		default:
			out.objs = append(out.objs, o)
		}
	}
	if len(out.live) == 0 {
		return out, fmt.Errorf("blue-green: no Service selects the pods of Deployment %s: the switch moves a Service's selector, so the release needs one", app)
	}
	out.preview = preview(out.live[0], app)
	out.objs = append(out.objs, out.preview)
	return out, nil
}

func selects(svc *unstructured.Unstructured, podLabels map[string]string) bool {
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	return len(sel) > 0 && subset(sel, podLabels)
}

func setLabel(o *unstructured.Unstructured, k, v string) {
	l := o.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[k] = v
	o.SetLabels(l)
}

// preview is a ClusterIP Service with live's ports and selector: the new
// color, reachable before it takes traffic (no load balancer of its own).
func preview(live *unstructured.Unstructured, app string) *unstructured.Unstructured {
	p := &unstructured.Unstructured{Object: map[string]any{}}
	p.SetAPIVersion("v1")
	p.SetKind("Service")
	p.SetName(previewService(app))
	p.SetLabels(map[string]string{labelApp: app, labelName: app, labelPart: "preview", labelManagedBy: fieldManager})
	sel, _, _ := unstructured.NestedStringMap(live.Object, "spec", "selector")
	ports, _, _ := unstructured.NestedSlice(live.Object, "spec", "ports")
	for _, port := range ports {
		if m, ok := port.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
	_ = unstructured.SetNestedStringMap(p.Object, sel, "spec", "selector")
	_ = unstructured.SetNestedSlice(p.Object, ports, "spec", "ports")
	_ = unstructured.SetNestedField(p.Object, "ClusterIP", "spec", "type")
	return p
}

// liveColor is the color the app's live Services select now ("" when
// none does: a first deploy, or one after a rolling release).
func (c *Cluster) liveColor(ctx context.Context, app string) (string, error) {
	list, err := c.kube.CoreV1().Services(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: labelApp + "=" + app})
	if err != nil {
		return "", fmt.Errorf("listing the Services of %q in namespace %s: %w", app, c.namespace, err)
	}
	for _, s := range list.Items {
		if s.Labels[labelPart] == "preview" {
			continue
		}
		if col := s.Spec.Selector[labelColor]; col != "" {
			return col, nil
		}
	}
	return "", nil
}

func (blueGreen) plan(ctx context.Context, c *Cluster, r *rollout) (apply, keep []*unstructured.Unstructured, err error) {
	live, err := c.liveColor(ctx, r.app)
	if err != nil {
		return nil, nil, err
	}
	if live == "" {
		return nil, nil, nil // not blue-green yet: a deploy cannot be unchanged
	}
	col, err := colorize(r.rel.objects, r.app, live)
	if err != nil {
		return nil, nil, err
	}
	all := append(append(append([]*unstructured.Unstructured(nil), r.pre...), col.objs...), col.live...)
	return all, append(append(col.objs, col.live...), colorStub(r.app, otherColor(live))), nil
}

// colorStub names a color's Deployment for the inventory: kept, not
// applied.
func colorStub(app, color string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetName(colorDeployment(app, color))
	return u
}

func (blueGreen) goLive(ctx context.Context, c *Cluster, r *rollout) (outcome.Outcome, error) {
	if err := c.refuseHPA(ctx, r.app); err != nil {
		return outcome.Unchanged, err
	}
	live, err := c.liveColor(ctx, r.app)
	if err != nil {
		return outcome.Unchanged, err
	}
	color := otherColor(live)
	r.color = color
	col, err := colorize(r.rel.objects, r.app, color)
	if err != nil {
		return outcome.Unchanged, err
	}
	r.keep = append(append([]*unstructured.Unstructured(nil), col.objs...), col.live...)
	if live != "" {
		r.keep = append(r.keep, colorStub(r.app, live))
	}
	if err := r.track(ctx, c, r.keep); err != nil {
		return outcome.Unchanged, err
	}
	// 1. The new color, beside the live one, with its preview Service.
	cs, err := c.applyAll(ctx, append(append([]*unstructured.Unstructured(nil), r.pre...), col.objs...))
	r.changes = append(r.changes, cs...)
	r.inv.add(col.objs, cs)
	if err == nil {
		r.log.printf("release %s runs as %s behind Service %s: %s", r.rel.Name, col.dep, previewService(r.app), cs)
		err = c.gate(ctx, gateSpec{deployment: col.dep, objs: col.objs, timeout: r.timeout, settle: r.settle, since: r.start}, r.log)
	}
	if err != nil {
		// Traffic never moved: the live color serves as before.
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		then := fmt.Sprintf("the live Service never moved; %s was scaled to 0", col.dep)
		if serr := c.scale(cctx, col.dep, 0); serr != nil {
			then = fmt.Sprintf("the live Service never moved; scaling %s to 0 failed: %v", col.dep, serr)
		} else {
			r.changes = append(r.changes, Change{Kind: "Deployment", Name: col.dep, Action: ActionScaled})
		}
		c.pointPreview(cctx, r, live)
		r.log.printf("%s", then)
		// Nothing moved; but with no earlier release, nothing serves either.
		o := outcome.Unchanged
		if r.prev == nil {
			o = outcome.Failed
		}
		if ctx.Err() != nil {
			return o, &InterruptedError{Release: r.rel.Name, Then: then, Cause: context.Cause(ctx)}
		}
		return o, fmt.Errorf("release %s of %s failed its gate as %s, before any traffic moved: %w; %s", r.rel.Name, r.app, col.dep, err, then)
	}
	// 2. The switch: one write per live Service (normally one).
	before, err := c.selectors(ctx, col.live)
	if err != nil {
		return outcome.Unchanged, err
	}
	cs, err = c.applyAll(ctx, col.live)
	r.changes = append(r.changes, switched(cs)...)
	r.inv.add(col.live, cs)
	if err != nil {
		return c.switchBack(ctx, r, col, before, fmt.Errorf("switching the live Service to %s: %w", col.dep, err))
	}
	r.log.printf("switched %s to %s (release %s)", names(col.live), col.dep, r.rel.Name)
	// The drain counts from when the Services' endpoints moved: the
	// endpoint controller can lag behind the switch on a busy cluster.
	c.waitEndpoints(ctx, col.live, col.dep, r.timeout, r.log)
	// 3. The drain: the old color still runs; the new one stays watched.
	if r.drain > 0 {
		err = c.gate(ctx, gateSpec{deployment: col.dep, objs: col.objs, timeout: r.drain + r.timeout, settle: 0, hold: r.drain, since: time.Now()}, r.log)
		var re *RolloutError
		if err != nil && (!errors.As(err, &re) || re.Kind != FailInterrupted) {
			return c.switchBack(ctx, r, col, before, fmt.Errorf("release %s failed during the drain after the switch: %w", r.rel.Name, err))
		}
		if err != nil {
			r.log.printf("interrupted during the drain: release %s passed its gate and serves; the old color goes now", r.rel.Name)
		}
	}
	// 4. The old color: kept, scaled to zero. After a rolling release the
	// old "color" is the app's own Deployment (pruned with the inventory).
	old := r.app
	if live != "" {
		old = colorDeployment(r.app, live)
	}
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	scaled, err := c.scaleOwn(cctx, old, r.app)
	if err != nil {
		return outcome.Succeeded, fmt.Errorf("release %s is live, but scaling the old Deployment %s to 0 failed: %w", r.rel.Name, old, err)
	}
	if scaled {
		r.changes = append(r.changes, Change{Kind: "Deployment", Name: old, Action: ActionScaled})
		r.log.printf("scaled the old Deployment %s to 0 (kept for a rollback)", old)
	}
	// Done means only the new release answers: the old color's pods serve
	// through their preStop sleep until they are gone.
	if scaled && live != "" {
		c.waitPodsGone(ctx, old, r.timeout, r.log)
	}
	return outcome.Succeeded, nil
}

func switched(cs ChangeSet) ChangeSet {
	out := make(ChangeSet, len(cs))
	for i, c := range cs {
		if c.Action != ActionUnchanged {
			c.Action = ActionSwitched
		}
		out[i] = c
	}
	return out
}

func names(objs []*unstructured.Unstructured) string {
	s := ""
	for i, o := range objs {
		if i > 0 {
			s += ", "
		}
		s += "Service " + o.GetName()
	}
	return s
}

// selectors are the live selectors of svcs (nil for one that does not
// exist yet), for a switch back.
func (c *Cluster) selectors(ctx context.Context, svcs []*unstructured.Unstructured) ([]map[string]string, error) {
	out := make([]map[string]string, len(svcs))
	for i, s := range svcs {
		live, err := c.kube.CoreV1().Services(c.namespace).Get(ctx, s.GetName(), metav1.GetOptions{})
		if err == nil {
			out[i] = live.Spec.Selector
			continue
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading Service %s: %w", s.GetName(), err)
		}
	}
	return out, nil
}

// pointPreview points the preview Service back at the live color after a
// failed release, so the app looks as it did before the run (and a
// redeploy of the live release is unchanged).
func (c *Cluster) pointPreview(ctx context.Context, r *rollout, live string) {
	if live == "" {
		return
	}
	col, err := colorize(r.rel.objects, r.app, live)
	if err != nil {
		return
	}
	if cs, err := c.applyAll(ctx, []*unstructured.Unstructured{col.preview}); err == nil {
		r.changes = append(r.changes, cs...)
	}
}

// switchBack points the live Services at what they selected before, at
// once, and scales the new color down: RolledBack when there was
// something to go back to.
func (c *Cluster) switchBack(ctx context.Context, r *rollout, col colored, before []map[string]string, failure error) (outcome.Outcome, error) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	back := make([]*unstructured.Unstructured, 0, len(col.live))
	for i, s := range col.live {
		if before[i] == nil {
			return outcome.Failed, fmt.Errorf("%w; there is no earlier release to switch Service %s back to", failure, s.GetName())
		}
		s = s.DeepCopy()
		if err := unstructured.SetNestedStringMap(s.Object, before[i], "spec", "selector"); err != nil {
			return outcome.Failed, fmt.Errorf("%w; switching back: %w", failure, err)
		}
		back = append(back, s)
	}
	cs, err := c.applyAll(cctx, back)
	r.changes = append(r.changes, switched(cs)...)
	if err != nil {
		return outcome.Failed, fmt.Errorf("%w; switching %s back failed too: %w", failure, names(back), err)
	}
	r.log.printf("switched %s back", names(back))
	if err := c.scale(cctx, col.dep, 0); err == nil {
		r.changes = append(r.changes, Change{Kind: "Deployment", Name: col.dep, Action: ActionScaled})
	}
	if prevColor, ok := before[0][labelColor]; ok {
		c.pointPreview(cctx, r, prevColor)
	}
	if r.prev != nil {
		return outcome.RolledBack, fmt.Errorf("%w; switched back to release %s, which kept running", failure, r.prev.Name)
	}
	return outcome.RolledBack, fmt.Errorf("%w; switched back to what served before", failure)
}

// scaleOwn scales Deployment dep to 0 if it exists, is goship's for app
// and runs pods.
func (c *Cluster) scaleOwn(ctx context.Context, dep, app string) (bool, error) {
	d, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, dep, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading Deployment %s: %w", dep, err)
	}
	if d.Labels[labelApp] != app || d.Labels[labelManagedBy] != fieldManager || (d.Spec.Replicas != nil && *d.Spec.Replicas == 0) {
		return false, nil
	}
	return true, c.scale(ctx, dep, 0)
}

// scale sets a Deployment's replicas through its scale subresource,
// keeping its pod template (the color stays ready for a switch back).
func (c *Cluster) scale(ctx context.Context, dep string, replicas int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	_, err := c.kube.AppsV1().Deployments(c.namespace).Patch(ctx, dep, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager + "-scale"}, "scale")
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("scaling Deployment %s to %d: %w", dep, replicas, err)
	}
	return nil
}
