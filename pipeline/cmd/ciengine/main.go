// Command ciengine runs a shared Dagger engine on a Kubernetes cluster from
// a laptop (pipeline/ciengine): one engine pod per node, its state on the
// node, its GC sized for the node's disk.
//
//	go build -C pipeline -o /tmp/ciengine ./cmd/ciengine   (from goship's root; pipeline/ is its own module)
//	/tmp/ciengine apply  --image=registry.dagger.io/engine:v0.21.0@sha256:… [flags]
//	/tmp/ciengine render --image=… [flags] > engine.yaml   (for kubectl apply --server-side or GitOps)
//	/tmp/ciengine remove [flags]                          (the state stays on the nodes)
//
// apply prints, per engine, the _EXPERIMENTAL_DAGGER_RUNNER_HOST that
// reaches it with kubectl, and what a runner pod on its node mounts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goship-dev/goship/pipeline/ciengine"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "render" && args[0] != "remove") {
		return errors.New("usage: ciengine apply|render|remove [flags] (-h for the flags)")
	}
	verb := args[0]
	fs := flag.NewFlagSet("ciengine "+verb, flag.ContinueOnError)
	var o ciengine.Options
	home, _ := os.UserHomeDir()
	kubeconfig := fs.String("kubeconfig", envOr("KUBECONFIG", filepath.Join(home, ".kube", "config")), "kubeconfig file")
	contextName := fs.String("context", "", "kubeconfig context (default: its current one)")
	fs.StringVar(&o.Name, "name", ciengine.DefaultName, "DaemonSet name")
	fs.StringVar(&o.Namespace, "namespace", ciengine.DefaultNamespace, "namespace (created when missing)")
	fs.StringVar(&o.Image, "image", "", "engine image, pinned by digest (required for apply and render)")
	fs.StringVar(&o.StateDir, "state-dir", "", "node directory of the engine state (default /var/lib/dagger-<name>)")
	fs.StringVar(&o.RunDir, "run-dir", "", "node directory of the engine socket (default /var/run/dagger-<name>)")
	fs.StringVar(&o.GC.MaxUsedSpace, "gc-max-used", "", `gc.maxUsedSpace ("100GB", "50%"); all three unset: sized for the smallest node's disk`)
	fs.StringVar(&o.GC.ReservedSpace, "gc-reserved", "", "gc.reservedSpace")
	fs.StringVar(&o.GC.MinFreeSpace, "gc-min-free", "", "gc.minFreeSpace")
	tomlFile := fs.String("engine-toml", "", "file with the engine.toml (registry mirrors and the like)")
	fs.BoolVar(&o.HostNetwork, "host-network", false, "run the engine on the node's network")
	var env, mounts, nodeSel list
	fs.Var(&env, "env", "NAME=VALUE for the engine container (repeatable)")
	fs.Var(&mounts, "host-mount", "NODE_DIR:CONTAINER_DIR[:ro] (repeatable)")
	fs.Var(&nodeSel, "node-selector", "KEY=VALUE (repeatable)")
	timeout := fs.Duration("timeout", ciengine.DefaultTimeout, "how long apply waits for the engines to be Ready")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *tomlFile != "" {
		b, err := os.ReadFile(*tomlFile) //nolint:gosec // the file the user named
		if err != nil {
			return fmt.Errorf("--engine-toml: %w", err)
		}
		o.EngineTOML = string(b)
	}
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return fmt.Errorf("--env %q: use NAME=VALUE", e)
		}
		o.Env = append(o.Env, ciengine.EnvVar{Name: k, Value: v})
	}
	for _, m := range mounts {
		parts := strings.Split(m, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro") {
			return fmt.Errorf("--host-mount %q: use NODE_DIR:CONTAINER_DIR[:ro]", m)
		}
		o.HostMounts = append(o.HostMounts, ciengine.HostMount{HostPath: parts[0], MountPath: parts[1], ReadOnly: len(parts) == 3})
	}
	for _, s := range nodeSel {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("--node-selector %q: use KEY=VALUE", s)
		}
		if o.NodeSelector == nil {
			o.NodeSelector = map[string]string{}
		}
		o.NodeSelector[k] = v
	}

	if verb == "render" {
		objs, err := ciengine.Render(o)
		if err != nil {
			return err
		}
		y, err := objs.YAML()
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(y)
		return err
	}
	kc, err := os.ReadFile(*kubeconfig) //nolint:gosec // the kubeconfig the user named
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	c, err := ciengine.Connect(kc, *contextName)
	if err != nil {
		return err
	}
	if verb == "remove" {
		return c.Remove(ctx, o, *timeout)
	}
	res, err := c.Apply(ctx, o, *timeout)
	if err != nil {
		return err
	}
	fmt.Print(res.Routes())
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return strings.Split(v, string(os.PathListSeparator))[0]
	}
	return def
}
