package kube

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFiles are the names kustomize reads in a directory.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomizeDir is the directory of s.Manifests to build with kustomize,
// or "" when the manifests are plain YAML: s.Kustomize if set, else "."
// when the manifests have a kustomization at their root.
func kustomizeDir(s Spec) string {
	if s.Kustomize != "" {
		return path.Clean(s.Kustomize)
	}
	for _, f := range kustomizationFiles {
		if _, ok := s.Manifests[f]; ok {
			return "."
		}
	}
	return ""
}

// kustomize builds dir of the manifests the way `kustomize build` does,
// in memory: no file is written and no plugin or exec function runs.
// Bases may be other directories of the manifests (../base); remote
// bases are not fetched.
func kustomize(files map[string][]byte, dir string) ([]byte, error) {
	fs := filesys.MakeFsInMemory()
	for name, data := range files {
		p := path.Join("/", name)
		if err := fs.MkdirAll(path.Dir(p)); err != nil {
			return nil, fmt.Errorf("manifests: kustomize: %s: %w", name, err)
		}
		if err := fs.WriteFile(p, data); err != nil {
			return nil, fmt.Errorf("manifests: kustomize: %s: %w", name, err)
		}
	}
	root := path.Join("/", dir)
	found := false
	for _, f := range kustomizationFiles {
		found = found || fs.Exists(path.Join(root, f))
	}
	if !found {
		return nil, fmt.Errorf("manifests: kustomize: %s has no kustomization.yaml (the manifests have: %s)", dir, strings.Join(sortedKeys(files), ", "))
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, root)
	if err != nil {
		return nil, fmt.Errorf("manifests: kustomize build %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("manifests: kustomize build %s: %w", dir, err)
	}
	return out, nil
}
