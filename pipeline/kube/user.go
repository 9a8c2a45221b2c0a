package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// userObjects parses the user's manifests: the output of their
// kustomization (see kustomizeDir), or every YAML or JSON document of
// every file, in file-name order.
func userObjects(s Spec) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	files := sortedKeys(s.Manifests)
	if dir := kustomizeDir(s); dir != "" {
		built, err := kustomize(s.Manifests, dir)
		if err != nil {
			return nil, err
		}
		if out, err = decodeObjects("kustomize build "+dir, built); err != nil {
			return nil, err
		}
		files = []string{"kustomize build " + dir}
	} else {
		for _, f := range files {
			if slices.Contains(kustomizationFiles, path.Base(f)) {
				return nil, fmt.Errorf("manifests: %s: a kustomization below the manifests' root: pass its directory (%s) as the kustomization to build", f, path.Dir(f))
			}
			if ext := path.Ext(f); ext != ".yaml" && ext != ".yml" && ext != ".json" {
				continue
			}
			objs, err := decodeObjects(f, s.Manifests[f])
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("manifests: no Kubernetes objects in %s (want .yaml, .yml or .json files, or a kustomization)", strings.Join(files, ", "))
	}
	if appDeployment(out, s.App) == nil {
		return nil, fmt.Errorf("manifests: no Deployment named %q: goship pins the image of the app's Deployment and gates its rollout", s.App)
	}
	return out, nil
}

// decodeObjects reads every YAML or JSON document of one file.
func decodeObjects(f string, data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifests: parsing %s (document %d): %w", f, doc, err)
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" || string(t) == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("manifests: %s (document %d): %w", f, doc, err)
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("manifests: %s (document %d): apiVersion, kind and metadata.name are required", f, doc)
		}
		if strings.HasSuffix(u.GetKind(), "List") {
			return nil, fmt.Errorf("manifests: %s (document %d): %s: write the objects as separate YAML documents", f, doc, u.GetKind())
		}
		out = append(out, u)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appDeployment is the Deployment named app among objs, or nil.
func appDeployment(objs []*unstructured.Unstructured, app string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == app && strings.HasPrefix(o.GetAPIVersion(), "apps/") {
			return o
		}
	}
	return nil
}

// pinUserDeployment sets the image of the app's container (the one named
// app, or the only one), adds the env Secret and pull secret, and marks
// every object with the app and the Deployment with the release.
func pinUserDeployment(objs []*unstructured.Unstructured, s Spec, release, envSecret string) error {
	for _, o := range objs {
		labels := o.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[labelApp] = s.App
		labels[labelManagedBy] = fieldManager
		o.SetLabels(labels)
	}
	dep := appDeployment(objs, s.App)
	annos := dep.GetAnnotations()
	if annos == nil {
		annos = map[string]string{}
	}
	for k, v := range releaseAnnotations(s, release) {
		annos[k] = v
	}
	dep.SetAnnotations(annos)
	containers, _, err := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if err != nil || len(containers) == 0 {
		return fmt.Errorf("manifests: Deployment %s has no containers", s.App)
	}
	idx := -1
	for i, c := range containers {
		if m, ok := c.(map[string]any); ok && m["name"] == s.App {
			idx = i
		}
	}
	if idx < 0 && len(containers) == 1 {
		idx = 0
	}
	if idx < 0 {
		return fmt.Errorf("manifests: Deployment %s has %d containers and none is named %q: name the app's container after the app", s.App, len(containers), s.App)
	}
	c, ok := containers[idx].(map[string]any)
	if !ok {
		return fmt.Errorf("manifests: Deployment %s: container %d is not an object", s.App, idx)
	}
	c["image"] = s.Image
	if envSecret != "" {
		envFrom, _ := c["envFrom"].([]any)
		c["envFrom"] = append(envFrom, map[string]any{"secretRef": map[string]any{"name": envSecret}})
	}
	if err := unstructured.SetNestedSlice(dep.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return fmt.Errorf("manifests: Deployment %s: %w", s.App, err)
	}
	if s.RegistryAuth != nil {
		pulls, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "imagePullSecrets")
		pulls = append(pulls, map[string]any{"name": pullSecretName(s.App)})
		if err := unstructured.SetNestedSlice(dep.Object, pulls, "spec", "template", "spec", "imagePullSecrets"); err != nil {
			return fmt.Errorf("manifests: Deployment %s: %w", s.App, err)
		}
	}
	return nil
}
