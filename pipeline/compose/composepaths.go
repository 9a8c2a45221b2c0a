package compose

import (
	"fmt"
	"path"
	"strings"

	"github.com/goship-dev/goship/pipeline/host"
	"gopkg.in/yaml.v3"
)

// releaseEnvFile is the .env goship writes into each release from
// Spec.Env: an env_file naming it stays relative to the release.
func releaseEnvFile(p string) bool { return p == ".env" || p == "./.env" }

// pathRewriter resolves host paths of a compose file against the shared
// dir, refusing those that point outside it unless allowed.
type pathRewriter struct {
	shared       string
	allowOutside bool
}

// resolvePaths rewrites, in every service, relative bind-mount sources
// (short and long volume syntax) and env_file entries, and the file of
// top-level configs and secrets, to absolute paths under the shared dir.
// Named volumes are left alone.
func resolvePaths(top *yaml.Node, appDir string, allowOutside bool) error {
	r := pathRewriter{shared: host.SharedDir(appDir), allowOutside: allowOutside}
	if services := field(top, "services"); services != nil && services.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(services.Content); i += 2 {
			name, svc := services.Content[i].Value, deref(services.Content[i+1])
			if svc.Kind != yaml.MappingNode {
				continue
			}
			if err := r.volumes(name, field(svc, "volumes")); err != nil {
				return err
			}
			if err := r.envFiles(name, field(svc, "env_file")); err != nil {
				return err
			}
		}
	}
	for _, kind := range []string{"configs", "secrets"} {
		defs := field(top, kind)
		if defs == nil || defs.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(defs.Content); i += 2 {
			if file := field(defs.Content[i+1], "file"); file != nil && file.Kind == yaml.ScalarNode {
				where := fmt.Sprintf("%s %q file", kind, defs.Content[i].Value)
				if err := r.rewrite(where, file); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r pathRewriter) volumes(service string, vols *yaml.Node) error {
	if vols == nil || vols.Kind != yaml.SequenceNode {
		return nil
	}
	for _, v := range vols.Content {
		v = deref(v)
		switch v.Kind {
		case yaml.ScalarNode: // SOURCE:TARGET[:MODE], or TARGET alone
			parts := strings.SplitN(v.Value, ":", 2)
			if len(parts) < 2 || !isHostPath(parts[0]) {
				continue // an anonymous or named volume
			}
			abs, err := r.resolve(fmt.Sprintf("service %q volume %q", service, v.Value), parts[0])
			if err != nil {
				return err
			}
			setScalar(v, abs+":"+parts[1])
		case yaml.MappingNode: // long syntax: only type bind has a host path
			typ, src := field(v, "type"), field(v, "source")
			if typ == nil || typ.Value != "bind" || src == nil || src.Kind != yaml.ScalarNode {
				continue
			}
			if err := r.rewrite(fmt.Sprintf("service %q bind mount %q", service, src.Value), src); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r pathRewriter) envFiles(service string, env *yaml.Node) error {
	if env == nil {
		return nil
	}
	var files []*yaml.Node
	switch env.Kind {
	case yaml.ScalarNode:
		files = []*yaml.Node{env}
	case yaml.SequenceNode:
		for _, e := range env.Content {
			if e = deref(e); e.Kind == yaml.MappingNode { // {path: …, required: …}
				e = field(e, "path")
			}
			if e != nil && e.Kind == yaml.ScalarNode {
				files = append(files, e)
			}
		}
	}
	for _, f := range files {
		if releaseEnvFile(f.Value) {
			continue
		}
		if err := r.rewrite(fmt.Sprintf("service %q env_file %q", service, f.Value), f); err != nil {
			return err
		}
	}
	return nil
}

// rewrite resolves a scalar that holds a host path in place.
func (r pathRewriter) rewrite(where string, n *yaml.Node) error {
	abs, err := r.resolve(where, n.Value)
	if err != nil {
		return err
	}
	setScalar(n, abs)
	return nil
}

// resolve is p as an absolute host path: relative to the shared dir,
// which it must not leave unless outside paths are allowed.
func (r pathRewriter) resolve(where, p string) (string, error) {
	var abs string
	switch {
	case strings.Contains(p, "$"):
		if r.allowOutside {
			return p, nil
		}
		return "", fmt.Errorf("compose file: %s: goship cannot tell where a host path with variables points; write it literally, relative to %s, or allow paths outside it (AllowOutsidePaths)", where, r.shared)
	case strings.HasPrefix(p, "~"):
		if r.allowOutside {
			return p, nil
		}
		return "", fmt.Errorf("compose file: %s: a home-relative host path is outside %s; use a path relative to it, or allow paths outside it (AllowOutsidePaths)", where, r.shared)
	case path.IsAbs(p):
		abs = path.Clean(p)
	default:
		abs = path.Join(r.shared, p)
	}
	if abs == r.shared || strings.HasPrefix(abs, r.shared+"/") || r.allowOutside {
		return abs, nil
	}
	return "", fmt.Errorf("compose file: %s: the host path resolves to %s, outside the app's shared dir %s (relative paths resolve against it, so data outlives releases); keep it inside, or allow paths outside it explicitly (AllowOutsidePaths)", where, abs, r.shared)
}

// isHostPath tells a bind-mount source from a volume name, as compose
// does: paths start with '.', '/' or '~' (or are a variable).
func isHostPath(src string) bool {
	return strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "~") || strings.HasPrefix(src, "$")
}

// deref follows YAML aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// field is m[key], following aliases and merge keys (<<: *defaults), so
// paths shared through anchors are resolved too.
func field(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	if v := mapValue(m, key); v != nil {
		return deref(v)
	}
	merged := deref(mapValue(m, "<<"))
	if merged == nil {
		return nil
	}
	sources := []*yaml.Node{merged}
	if merged.Kind == yaml.SequenceNode {
		sources = merged.Content
	}
	for _, src := range sources {
		if v := field(src, key); v != nil {
			return v
		}
	}
	return nil
}

func setScalar(n *yaml.Node, v string) {
	n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!str", v
}
