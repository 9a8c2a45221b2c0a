package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	spec := kube.Spec{
		App: run.App, Image: d.Image, Port: run.Port, HealthPath: d.Health.Path, Replicas: int32(k.Replicas),
		CPURequest: k.CPURequest, CPULimit: k.CPULimit, MemoryRequest: k.MemoryRequest, MemoryLimit: k.MemoryLimit,
		Version: run.Version, Commit: run.Commit, Who: run.Who,
		Timeout: d.Health.Timeout.Std(), Settle: d.Health.Settle.Std(), Keep: d.Keep, LockWait: d.LockWait.Std(),
	}
	switch d.Strategy {
	case "", "recreate", "rolling":
	default:
		return nil, fmt.Errorf("strategy %q: a cluster rolls its pods (recreate/rolling)", d.Strategy)
	}
	if d.Health.Port != 0 {
		return nil, errors.New("with-health --port is a server setting: a cluster's probes use the container port (--port of goship)")
	}
	var err error
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
		if spec.Manifests, err = readYAMLFiles(k.Manifests); err != nil {
			return nil, err
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return &clusterPlan{c: c, spec: spec}, nil
}

func (p *clusterPlan) Images() []string { return []string{p.spec.Image} }

func (p *clusterPlan) Pin(pinned map[string]string) error {
	if ref, ok := pinned[p.spec.Image]; ok {
		p.spec.Image = ref
	}
	return nil
}

func (p *clusterPlan) Close() {}

// Run applies the release and gates it.
func (p *clusterPlan) Run(ctx context.Context, guard Guard) (Report, error) {
	c := p.c
	res, err := c.k.Deploy(ctx, p.spec)
	rep := Report{Outcome: res.Outcome, Event: notify.Event{App: p.spec.App, Version: p.spec.Version, Image: p.spec.Image,
		Release: res.Release.Name, Previous: res.RolledBackTo, Hosts: []string{c.where()}, Who: p.spec.Who, Duration: res.Took}}
	if err == nil {
		rep.Summary = fmt.Sprintf("deployed %s as release %s to %s in %s (namespace %s)", p.spec.Image, res.Release.Name, c.k.Server(), res.Took.Round(time.Millisecond), c.k.Namespace())
	}
	return rep, err
}

// Rollback re-applies a recorded release and gates it.
func (c *cluster) Rollback(ctx context.Context, r job.Rollback, guard Guard) (Report, error) {
	run := c.e.run
	res, err := c.k.Rollback(ctx, kube.RollbackSpec{App: run.App, To: r.To, Who: run.Who, Verify: guard.Verify,
		Timeout: r.Health.Timeout.Std(), Settle: r.Health.Settle.Std(), LockWait: r.LockWait.Std()})
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

// readYAMLFiles reads the .yaml and .yml files at the top of dir, by
// name, for manifests given instead of the generated ones.
func readYAMLFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading --manifests: %w", err)
	}
	files := map[string][]byte{}
	for _, en := range entries {
		ext := filepath.Ext(en.Name())
		if en.IsDir() || ext != ".yaml" && ext != ".yml" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, en.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading --manifests file %s: %w", en.Name(), err)
		}
		files[en.Name()] = data
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--manifests has no .yaml or .yml file at its top level")
	}
	return files, nil
}
