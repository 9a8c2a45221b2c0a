package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// The inventory is what goship applied for an app and has not pruned yet,
// kept in a ConfigMap beside the app (as Flux keeps a Kustomization's).
// A release adds its objects before it applies them, so a deploy that
// dies half-way leaves nothing untracked; once a release is live, what
// the inventory holds beyond it is pruned. Only objects goship created
// are ever deleted: an object that existed before goship first applied it
// is dropped from the inventory and left alone.

func inventoryName(app string) string { return "goship-inventory-" + app }

// invEntry is one object of the inventory.
type invEntry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	// Created: goship created it (the change set said so), so pruning may
	// delete it.
	Created bool `json:"created"`
}

// id identifies an object across API versions, as Flux's ObjMetadata.
func (e invEntry) id() string {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(e.APIVersion)
	return u.GroupVersionKind().Group + "/" + e.Kind + "/" + e.Name
}

type inventory struct {
	entries map[string]invEntry
	live    *corev1.ConfigMap // nil: none stored yet
}

func objID(o *unstructured.Unstructured) string {
	return o.GroupVersionKind().Group + "/" + o.GetKind() + "/" + o.GetName()
}

// readInventory loads app's inventory; an app without one has an empty
// inventory.
func (c *Cluster) readInventory(ctx context.Context, app string) (*inventory, error) {
	inv := &inventory{entries: map[string]invEntry{}}
	cm, err := c.kube.CoreV1().ConfigMaps(c.namespace).Get(ctx, inventoryName(app), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return inv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the inventory ConfigMap %s/%s: %w", c.namespace, inventoryName(app), err)
	}
	inv.live = cm
	var list []invEntry
	if err := json.Unmarshal([]byte(cm.Data["inventory.json"]), &list); err != nil {
		return nil, fmt.Errorf("reading the inventory ConfigMap %s/%s: %w; delete it to start a new inventory (nothing will be pruned until then)", c.namespace, inventoryName(app), err)
	}
	for _, e := range list {
		inv.entries[e.id()] = e
	}
	return inv, nil
}

// add records objs; cs (from applying them, may be shorter) says which
// ones goship created.
func (inv *inventory) add(objs []*unstructured.Unstructured, cs ChangeSet) {
	created := map[string]bool{}
	for _, ch := range cs {
		if ch.Action == ActionCreated {
			created[ch.Kind+"/"+ch.Name] = true
		}
	}
	for _, o := range objs {
		if o.GetLabels()[labelPart] == "env" {
			continue // each release's own; pruneRecords drops those no kept release uses
		}
		id := objID(o)
		e := inv.entries[id]
		e.APIVersion, e.Kind, e.Name = o.GetAPIVersion(), o.GetKind(), o.GetName()
		e.Created = e.Created || created[o.GetKind()+"/"+o.GetName()]
		inv.entries[id] = e
	}
}

// write stores inv if it differs from what is stored.
func (c *Cluster) writeInventory(ctx context.Context, app string, inv *inventory) error {
	list := make([]invEntry, 0, len(inv.entries))
	for _, e := range inv.entries {
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id() < list[j].id() })
	data, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encoding the inventory of %q: %w", app, err)
	}
	cms := c.kube.CoreV1().ConfigMaps(c.namespace)
	if inv.live != nil {
		if inv.live.Data["inventory.json"] == string(data) {
			return nil
		}
		cm := inv.live.DeepCopy()
		cm.Data = map[string]string{"inventory.json": string(data)}
		live, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: fieldManager})
		if err != nil {
			return fmt.Errorf("updating the inventory ConfigMap %s/%s: %w", c.namespace, inventoryName(app), err)
		}
		inv.live = live
		return nil
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: inventoryName(app), Labels: map[string]string{labelApp: app, labelPart: "inventory", labelManagedBy: fieldManager}},
		Data:       map[string]string{"inventory.json": string(data)},
	}
	live, err := cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return fmt.Errorf("creating the inventory ConfigMap %s/%s: %w", c.namespace, inventoryName(app), err)
	}
	inv.live = live
	return nil
}

// prune deletes what inv holds beyond keep and goship created, and
// leaves inv holding keep. Before deleting it reads the object: one that
// no longer carries goship's labels for app (re-created by someone else)
// is left alone.
func (c *Cluster) prune(ctx context.Context, app string, inv *inventory, keep []*unstructured.Unstructured) (ChangeSet, error) {
	kept := map[string]bool{}
	for _, o := range keep {
		kept[objID(o)] = true
	}
	ids := make([]string, 0, len(inv.entries))
	for id := range inv.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var cs ChangeSet
	for _, id := range ids {
		e := inv.entries[id]
		if kept[id] {
			continue
		}
		if e.Created {
			stub := &unstructured.Unstructured{}
			stub.SetAPIVersion(e.APIVersion)
			stub.SetKind(e.Kind)
			stub.SetName(e.Name)
			r, err := c.resource(stub)
			if err != nil {
				return cs, fmt.Errorf("pruning %s %s: %w", e.Kind, e.Name, err)
			}
			live, err := r.Get(ctx, e.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return cs, fmt.Errorf("pruning %s %s: reading it: %w", e.Kind, e.Name, err)
			case live.GetLabels()[labelApp] == app && live.GetLabels()[labelManagedBy] == fieldManager:
				// Foreground: a workload stays until its pods are gone, so
				// waiting for it is waiting for its pods to stop serving.
				prop := metav1.DeletePropagationForeground
				uid := live.GetUID()
				err := r.Delete(ctx, e.Name, metav1.DeleteOptions{PropagationPolicy: &prop, Preconditions: &metav1.Preconditions{UID: &uid}})
				if err != nil && !apierrors.IsNotFound(err) {
					return cs, fmt.Errorf("pruning %s %s (the release dropped it): %w", e.Kind, e.Name, err)
				}
				cs = append(cs, Change{Kind: e.Kind, Name: e.Name, Action: ActionDeleted})
				if _, workload := podSpecPaths[e.Kind]; workload {
					waitGone(ctx, r, e.Name)
				}
			}
		}
		delete(inv.entries, id)
	}
	return cs, nil
}

// waitGone waits until name is gone (a foreground deletion ends once its
// pods are), or ctx ends.
func waitGone(ctx context.Context, r dynamic.ResourceInterface, name string) {
	for ctx.Err() == nil {
		if _, err := r.Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
}
