package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// goship applies the way Flux's ResourceManager (fluxcd/pkg/ssa) does: a
// server-side dry run of each object first, compared with the live object;
// only an object whose dry run differs is applied, so a redeploy of the
// same release writes nothing. fluxcd/pkg/ssa itself is not imported: its
// last release for this module's Kubernetes 0.35 and Go 1.26 (v0.73) pulls
// in controller-runtime, kubectl and cli-runtime for the thirty lines
// below, and goship keeps its own inventory (inventory.go) and gate
// (gate.go) anyway.

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

// applyAll applies objs in order as field manager "goship", taking over
// conflicting fields, and writes only the objects that would change.
func (c *Cluster) applyAll(ctx context.Context, objs []*unstructured.Unstructured) (ChangeSet, error) {
	return c.applyEach(ctx, objs, true)
}

// diffAll is applyAll's dry run: the server validates and admits every
// object, and the change set says what applyAll would do. Nothing is
// written.
func (c *Cluster) diffAll(ctx context.Context, objs []*unstructured.Unstructured) (ChangeSet, error) {
	return c.applyEach(ctx, objs, false)
}

func (c *Cluster) applyEach(ctx context.Context, objs []*unstructured.Unstructured, write bool) (ChangeSet, error) {
	var cs ChangeSet
	for _, o := range objs {
		a, err := c.applyOne(ctx, o, write)
		if err != nil {
			return cs, err
		}
		cs = append(cs, Change{Kind: o.GetKind(), Name: o.GetName(), Action: a})
	}
	return cs, nil
}

func (c *Cluster) applyOne(ctx context.Context, o *unstructured.Unstructured, write bool) (Action, error) {
	r, err := c.resource(o)
	if err != nil {
		return "", err
	}
	o = o.DeepCopy()
	o.SetNamespace(c.namespace)
	live, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
	absent := apierrors.IsNotFound(err)
	if err != nil && !absent {
		return "", fmt.Errorf("reading %s %s in namespace %s: %w", o.GetKind(), o.GetName(), c.namespace, err)
	}
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}
	dry, err := r.Apply(ctx, o.GetName(), o, opts)
	if err != nil {
		return "", fmt.Errorf("checking (dry run) %s %s in namespace %s: %w", o.GetKind(), o.GetName(), c.namespace, err)
	}
	if !absent && !drifted(live, dry) {
		return ActionUnchanged, nil
	}
	a := ActionConfigured
	if absent {
		a = ActionCreated
	}
	if !write {
		return a, nil
	}
	opts.DryRun = nil
	if _, err := r.Apply(ctx, o.GetName(), o, opts); err != nil {
		return "", fmt.Errorf("applying %s %s in namespace %s: %w", o.GetKind(), o.GetName(), c.namespace, err)
	}
	return a, nil
}

// drifted: applying would change labels, annotations or anything outside
// metadata and status (as Flux's hasDrifted).
func drifted(live, dry *unstructured.Unstructured) bool {
	if !equality.Semantic.DeepEqual(live.GetLabels(), dry.GetLabels()) || !equality.Semantic.DeepEqual(live.GetAnnotations(), dry.GetAnnotations()) {
		return true
	}
	strip := func(u *unstructured.Unstructured) map[string]any {
		m := u.DeepCopy().Object
		delete(m, "metadata")
		delete(m, "status")
		return m
	}
	return !equality.Semantic.DeepEqual(strip(live), strip(dry))
}
