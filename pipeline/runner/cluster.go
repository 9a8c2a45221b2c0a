package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/kube"
	"github.com/goship-dev/goship/pipeline/notify"
)

// cluster is the Kubernetes target: the app's objects in one namespace,
// applied server-side (pipeline/kube).
type cluster struct {
	e *env
	k *kube.Cluster
}

// newCluster reads the kubeconfig, asks the API server and looks the
// namespace up, applying nothing.
func newCluster(ctx context.Context, e *env, c job.Cluster) (*cluster, error) {
	cfg, err := secretBytes(c.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading --kubeconfig: %w", err)
	}
	k, err := kube.Connect(ctx, cfg, c.Context, c.Namespace)
	if err != nil {
		return nil, err
	}
	return &cluster{e: e, k: k}, nil
}

func (c *cluster) Name() string { return "cluster" }

// where names the cluster and namespace in messages and notifications.
func (c *cluster) where() string { return c.k.Server() + "/" + c.k.Namespace() }

// clusterPlan is a checked cluster release.
type clusterPlan struct {
	c    *cluster
	spec kube.Spec
}

// Plan builds the release's spec and checks it whole.
func (c *cluster) Plan(ctx context.Context, d job.Deploy) (Planned, error) {
	if d.Compose != nil {
		return nil, errors.New("compose, publish, with-proxy, with-rollout and with-migration are server settings; a cluster deploys Kubernetes objects")
	}
	k := d.Kube
	if k == nil {
		k = &job.Kube{}
	}
	run := c.e.run
	if k.Replicas < 0 || k.Replicas > maxReplicas {
		return nil, fmt.Errorf("--replicas %d: want 0 (the default) to %d", k.Replicas, maxReplicas)
	}
	spec := kube.Spec{
		App: run.App, Image: d.Image, Port: run.Port, HealthPath: d.Health.Path, Replicas: int32(k.Replicas),
		CPURequest: k.CPURequest, CPULimit: k.CPULimit, MemoryRequest: k.MemoryRequest, MemoryLimit: k.MemoryLimit,
		Version: run.Version, Commit: run.Commit, Who: run.Who,
		Timeout: d.Health.Timeout.Std(), Settle: d.Health.Settle.Std(), Keep: d.Keep, LockWait: d.LockWait.Std(),
		Drain: d.Drain.Std(), NoDisruptionBudget: k.NoDisruptionBudget, Kustomize: k.Kustomize, Log: c.e.log,
	}
	var err error
	if spec.Strategy, err = clusterStrategy(d.Strategy); err != nil {
		return nil, err
	}
	if i := k.Ingress; i != nil {
		spec.Ingress = &kube.Ingress{Host: i.Host, Class: i.Class, TLSSecret: i.TLSSecret, Path: i.Path}
	}
	if d.Health.Port != 0 {
		return nil, errors.New("with-health --port is a server setting: a cluster's probes use the container port (--port of goship)")
	}
	if spec.Env, err = secretBytes(d.Env); err != nil {
		return nil, fmt.Errorf("reading --env: %w", err)
	}
	host := ""
	if ref, err := name.ParseReference(d.Image); err == nil {
		host = ref.Context().RegistryStr()
	}
	spec.PlainHTTP = slices.Contains(c.e.trust.PlainHTTP, host)
	pull, err := credentials(d.Pull)
	if err != nil {
		return nil, err
	}
	if pull.Username != "" {
		spec.RegistryAuth = &kube.RegistryAuth{Host: host, Username: pull.Username, Password: pull.Password}
	}
	if k.Manifests != "" {
		if spec.Manifests, err = readManifests(k.Manifests); err != nil {
			return nil, err
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &clusterPlan{c: c, spec: spec}, nil
}

// Images are every container, init container, Job's and CronJob's image
// of the release, after kustomize.
func (p *clusterPlan) Images() []string {
	imgs, err := kube.Images(p.spec)
	if err != nil {
		return []string{p.spec.Image} // Plan validated the spec: not reached
	}
	var out []string
	seen := map[string]bool{}
	for _, im := range imgs {
		if !seen[im.Image] {
			seen[im.Image] = true
			out = append(out, im.Image)
		}
	}
	return out
}

// Pin deploys the app's image by the verified digest; the others are
// already pinned by digest (the policy refuses them otherwise).
func (p *clusterPlan) Pin(pinned map[string]string) error {
	if ref, ok := pinned[p.spec.Image]; ok {
		p.spec.Image = ref
	}
	return nil
}

// Run applies the release and gates it.
func (p *clusterPlan) Run(ctx context.Context, guard Guard) (Report, error) {
	c := p.c
	p.spec.Policy = kubePolicy(guard)
	res, err := c.k.Deploy(ctx, p.spec)
	rep := Report{Outcome: res.Outcome, Event: notify.Event{App: p.spec.App, Version: p.spec.Version, Image: p.spec.Image,
		Release: res.Release.Name, Previous: res.RolledBackTo, Hosts: []string{c.where()}, Who: p.spec.Who, Duration: res.Took}}
	if err == nil {
		rep.Summary = fmt.Sprintf("deployed %s as release %s (%s) to %s in %s (namespace %s); %s", p.spec.Image, res.Release.Name, res.Strategy,
			c.k.Server(), res.Took.Round(time.Millisecond), c.k.Namespace(), res.Changes.String())
	}
	return rep, err
}

// kubePolicy is the guard as the namespace records it.
func kubePolicy(g Guard) kube.Policy {
	p := kube.Policy{OptOut: g.Unverified}
	if g.Policy != nil {
		p.Verified, p.Name = true, g.Policy.Name+" ("+g.Policy.Digest+")"
	}
	return p
}

// clusterStrategy is the cluster's strategy a deploy asks for: recreate
// is the cluster's rolling update, the in-place way of a cluster.
func clusterStrategy(s string) (kube.Strategy, error) {
	switch s {
	case "":
		return "", nil
	case "recreate", string(kube.Rolling):
		return kube.Rolling, nil
	case string(kube.BlueGreen):
		return kube.BlueGreen, nil
	}
	return "", fmt.Errorf("strategy %q: a cluster deploys rolling (with-recreate) or blue-green (with-blue-green)", s)
}

// Rollback re-applies a recorded release and gates it.
func (c *cluster) Rollback(ctx context.Context, r job.Rollback, guard Guard) (Report, error) {
	run := c.e.run
	res, err := c.k.Rollback(ctx, kube.RollbackSpec{App: run.App, To: r.To, Who: run.Who, Verify: guard.Verify,
		Timeout: r.Health.Timeout.Std(), Settle: r.Health.Settle.Std(), LockWait: r.LockWait.Std(),
		Policy: kubePolicy(guard), Log: c.e.log})
	rep := Report{Outcome: res.Outcome, Event: notify.Event{App: run.App, Image: res.Release.Image, Release: res.Release.Name,
		Hosts: []string{c.where()}, Who: run.Who, Duration: res.Took}}
	if err == nil {
		rep.Summary = fmt.Sprintf("rolled back %s in namespace %s to %s (%s)", run.App, c.k.Namespace(), res.Release.Name, res.Release.Image)
	}
	return rep, err
}

func (c *cluster) Releases(ctx context.Context) (string, error) {
	rels, err := c.k.Releases(ctx, c.e.run.App)
	if err != nil {
		return "", err
	}
	return kube.FormatReleases(rels), nil
}

func (c *cluster) Status(ctx context.Context) (string, error) {
	st, err := c.k.Status(ctx, c.e.run.App)
	if err != nil {
		return "", err
	}
	return kube.FormatStatus(st), nil
}

// maxReplicas is more pods than one app deploys.
const maxReplicas = 10000

// maxManifests bounds what --manifests may hold: manifests and the files
// a kustomization generates from, not a repository.
const maxManifests = 16 << 20

// readManifests reads every file below dir by its slash path, for
// manifests (or a kustomization and what it generates from) given
// instead of the generated objects.
func readManifests(dir string) (map[string][]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("reading --manifests: %w", err)
	}
	defer func() { _ = root.Close() }()
	// Read through the root: a symlink cannot lead out of the directory.
	fsys := root.FS()
	files := map[string][]byte{}
	total := 0
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		if total += len(data); total > maxManifests {
			return fmt.Errorf("more than %d MiB of files", maxManifests>>20)
		}
		files[path] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading --manifests: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--manifests is empty: give a directory of YAML files or a kustomization")
	}
	return files, nil
}
