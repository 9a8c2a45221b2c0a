package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/goship-dev/goship/pipeline/outcome"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Releases lists app's recorded releases, newest first, the one the live
// Deployment names marked Current.
func (c *Cluster) Releases(ctx context.Context, app string) ([]Release, error) {
	list, err := c.kube.CoreV1().Secrets(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: labelApp + "=" + app + "," + labelPart + "=release"})
	if err != nil {
		return nil, fmt.Errorf("listing the releases of %q in namespace %s: %w", app, c.namespace, err)
	}
	current, err := c.currentRelease(ctx, app)
	if err != nil {
		return nil, err
	}
	var out []Release
	for i := range list.Items {
		sec := &list.Items[i]
		if sec.Type != releaseSecretType {
			continue
		}
		rel, err := decodeRecord(sec)
		if err != nil {
			return nil, err
		}
		rel.Current = rel.Name == current
		out = append(out, rel)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name > out[j].Name })
	return out, nil
}

// liveDeployment is the Deployment that serves app: the live color's
// under blue-green, else the app's own.
func (c *Cluster) liveDeployment(ctx context.Context, app string) (string, error) {
	col, err := c.liveColor(ctx, app)
	if err != nil || col == "" {
		return app, err
	}
	return colorDeployment(app, col), nil
}

// currentRelease is the release the live Deployment was applied from, or
// "" when there is no Deployment.
func (c *Cluster) currentRelease(ctx context.Context, app string) (string, error) {
	name, err := c.liveDeployment(ctx, app)
	if err != nil {
		return "", err
	}
	dep, err := c.kube.AppsV1().Deployments(c.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading Deployment %s in namespace %s: %w", name, c.namespace, err)
	}
	return dep.Annotations[annoRelease], nil
}

// record creates rel's record.
func (c *Cluster) record(ctx context.Context, rel Release) error {
	sec, err := encodeRecord(rel, rel.objects)
	if err != nil {
		return err
	}
	if _, err := c.kube.CoreV1().Secrets(c.namespace).Create(ctx, sec, metav1.CreateOptions{FieldManager: fieldManager}); err != nil {
		return fmt.Errorf("recording release %s of %q: %w", rel.Name, rel.App, err)
	}
	return nil
}

// mark records the outcome of rel.
func (c *Cluster) mark(ctx context.Context, rel *Release, o outcome.Outcome, cause error) error {
	rel.Outcome, rel.Error = o, ""
	if cause != nil {
		rel.Error = cause.Error()
	}
	sec, err := encodeRecord(*rel, rel.objects)
	if err != nil {
		return err
	}
	secrets := c.kube.CoreV1().Secrets(c.namespace)
	live, err := secrets.Get(ctx, sec.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the record of release %s: %w", rel.Name, err)
	}
	live.Labels, live.Data = sec.Labels, sec.Data
	if _, err := secrets.Update(ctx, live, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		return fmt.Errorf("recording outcome %s of release %s: %w", o, rel.Name, err)
	}
	return nil
}

// pruneRecords deletes the oldest records beyond keep (never the current
// one) and the .env Secrets no kept release uses.
func (c *Cluster) pruneRecords(ctx context.Context, app string, keep int) error {
	rels, err := c.Releases(ctx, app)
	if err != nil {
		return err
	}
	secrets := c.kube.CoreV1().Secrets(c.namespace)
	used := map[string]bool{}
	kept := 0
	for _, r := range rels {
		if kept < keep || r.Current {
			kept++
			for _, o := range r.objects {
				if o.GetKind() == "Secret" {
					used[o.GetName()] = true
				}
			}
			continue
		}
		if err := secrets.Delete(ctx, recordName(app, r.Name), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("pruning release %s of %q: %w", r.Name, app, err)
		}
	}
	envs, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: labelApp + "=" + app + "," + labelPart + "=env"})
	if err != nil {
		return fmt.Errorf("listing the .env Secrets of %q: %w", app, err)
	}
	for _, s := range envs.Items {
		if !used[s.Name] && strings.HasPrefix(s.Name, app+"-env-") && s.Type == corev1.SecretTypeOpaque {
			if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("pruning .env Secret %s: %w", s.Name, err)
			}
		}
	}
	return nil
}

// findRelease is the release named to, or (to == "") the newest healthy
// release other than the current one.
func findRelease(rels []Release, to string) (*Release, error) {
	for i := range rels {
		r := &rels[i]
		if to != "" && r.Name == to {
			return r, nil
		}
		if to == "" && !r.Current && r.Healthy() {
			return r, nil
		}
	}
	if to != "" {
		names := make([]string, 0, len(rels))
		for _, r := range rels {
			names = append(names, r.Name)
		}
		return nil, fmt.Errorf("no release %q: releases lists %s", to, listOrNone(names))
	}
	return nil, fmt.Errorf("no healthy release to roll back to besides the current one")
}

// restoreTarget is what a failed deploy goes back to: the current release
// if it was healthy, else the newest healthy one.
func restoreTarget(rels []Release) (*Release, error) {
	for i := range rels {
		if rels[i].Current && rels[i].Healthy() {
			return &rels[i], nil
		}
	}
	for i := range rels {
		if rels[i].Healthy() {
			return &rels[i], nil
		}
	}
	return nil, fmt.Errorf("no earlier release passed its gate")
}
