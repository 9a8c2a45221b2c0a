package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// resource is the namespaced client for obj's kind. goship applies only
// namespaced objects, and only to its own namespace.
func (c *Cluster) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s %s: the cluster does not serve this kind: %w", obj.GetKind(), obj.GetName(), err)
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return nil, fmt.Errorf("%s %s is cluster-scoped: goship applies only namespaced objects; apply it separately", obj.GetKind(), obj.GetName())
	}
	if ns := obj.GetNamespace(); ns != "" && ns != c.namespace {
		return nil, fmt.Errorf("%s %s names namespace %q, but goship deploys to %q: remove metadata.namespace or pass --namespace %s", obj.GetKind(), obj.GetName(), ns, c.namespace, ns)
	}
	return c.dyn.Resource(m.Resource).Namespace(c.namespace), nil
}

// apply server-side applies objs in order as field manager "goship",
// taking over conflicting fields. dryRun asks the server to validate and
// admit them without persisting anything.
func (c *Cluster) apply(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) error {
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	what := "applying"
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
		what = "checking (dry run)"
	}
	for _, o := range objs {
		r, err := c.resource(o)
		if err != nil {
			return err
		}
		o = o.DeepCopy()
		o.SetNamespace(c.namespace)
		if _, err := r.Apply(ctx, o.GetName(), o, opts); err != nil {
			return fmt.Errorf("%s %s %s in namespace %s: %w", what, o.GetKind(), o.GetName(), c.namespace, err)
		}
	}
	return nil
}
