package kube

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// hpaHandover is the field manager that holds a Deployment's replicas for
// one moment while goship lets go of them, so the count never drops (see
// forHPA).
const hpaHandover = "goship-hpa-handover"

var hpaResource = schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}

// hpaTargets are the Deployments the namespace's HorizontalPodAutoscalers
// scale, by name → HPA name. A credential that may not list HPAs sees
// none.
func (c *Cluster) hpaTargets(ctx context.Context) map[string]string {
	list, err := c.dyn.Resource(hpaResource).Namespace(c.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, h := range list.Items {
		kind, _, _ := unstructured.NestedString(h.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(h.Object, "spec", "scaleTargetRef", "name")
		if kind == "Deployment" {
			out[name] = h.GetName()
		}
	}
	return out
}

// forHPA leaves replicas to an HPA: each Deployment of objs that an HPA
// scales is applied without spec.replicas, so the HPA keeps the field and
// a deploy never resets the count it chose. When goship still owns the
// field from earlier deploys, letting go of it would make the API server
// drop it (and the Deployment fall back to 1 replica): so first, when
// handover is set, a second field manager takes the live count over, then
// goship lets go.
func (c *Cluster) forHPA(ctx context.Context, objs []*unstructured.Unstructured, log *progress, handover bool) ([]*unstructured.Unstructured, error) {
	targets := c.hpaTargets(ctx)
	if len(targets) == 0 {
		return objs, nil
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		out[i] = o
		hpa, ok := targets[o.GetName()]
		if o.GetKind() != "Deployment" || !ok {
			continue
		}
		o = o.DeepCopy()
		unstructured.RemoveNestedField(o.Object, "spec", "replicas")
		out[i] = o
		if !handover {
			continue
		}
		if err := c.handOverReplicas(ctx, o.GetName(), hpa, log); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Cluster) handOverReplicas(ctx context.Context, name, hpa string, log *progress) error {
	live, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading Deployment %s: %w", name, err)
	}
	if !ownsReplicas(live.ManagedFields) || live.Spec.Replicas == nil {
		return nil
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"replicas": int64(*live.Spec.Replicas)}}}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetName(name)
	r, err := c.resource(u)
	if err != nil {
		return err
	}
	if _, err := r.Apply(ctx, name, u, metav1.ApplyOptions{FieldManager: hpaHandover, Force: true}); err != nil {
		return fmt.Errorf("handing the replicas of Deployment %s over to HPA %s: %w", name, hpa, err)
	}
	log.printf("HPA %s scales Deployment %s: goship leaves its replicas (%d now) to it", hpa, name, *live.Spec.Replicas)
	return nil
}

// ownsReplicas: goship's apply owns spec.replicas.
func ownsReplicas(mf []metav1.ManagedFieldsEntry) bool {
	for _, e := range mf {
		if e.Manager != fieldManager || e.Operation != metav1.ManagedFieldsOperationApply || e.FieldsV1 == nil {
			continue
		}
		var f struct {
			Spec map[string]json.RawMessage `json:"f:spec"`
		}
		if json.Unmarshal(e.FieldsV1.Raw, &f) == nil {
			if _, ok := f.Spec["f:replicas"]; ok {
				return true
			}
		}
	}
	return false
}

// refuseHPA: blue-green moves the app between two Deployments, which an
// HPA (it scales one Deployment by name) cannot follow.
func (c *Cluster) refuseHPA(ctx context.Context, app string) error {
	targets := c.hpaTargets(ctx)
	for _, d := range []string{app, colorDeployment(app, colorBlue), colorDeployment(app, colorGreen)} {
		if h, ok := targets[d]; ok {
			return fmt.Errorf("blue-green: HorizontalPodAutoscaler %s scales Deployment %s, but blue-green moves the app between %s and %s, which one HPA cannot follow; deploy with the rolling strategy, or remove the HPA", h, d, colorDeployment(app, colorBlue), colorDeployment(app, colorGreen))
		}
	}
	return nil
}

// podTemplate is the pod spec of Deployment name among objs.
func podTemplate(objs []*unstructured.Unstructured, name string) corev1.PodSpec {
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == name {
			var d appsv1.Deployment
			if runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d) == nil {
				return d.Spec.Template.Spec
			}
		}
	}
	return corev1.PodSpec{}
}
