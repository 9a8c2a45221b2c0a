package runner

import (
	"context"
	"errors"
	"fmt"

	"github.com/goship-dev/goship/pipeline/ciengine"
	"github.com/goship-dev/goship/pipeline/job"
)

// ciEngine applies (or removes) a shared Dagger engine on the job's
// cluster and says how runners reach it.
func ciEngine(ctx context.Context, j job.Job) (job.Result, error) {
	spec := j.CIEngine
	if spec == nil || j.Target == nil || j.Target.Cluster == nil {
		return job.Result{}, errors.New("ci-engine needs a cluster and its settings")
	}
	o := ciengine.Options{Image: spec.Image, Name: spec.Name, Namespace: spec.Namespace, HostNetwork: spec.HostNetwork,
		GC: ciengine.GC{MaxUsedSpace: spec.GCMaxUsed, ReservedSpace: spec.GCReserved, MinFreeSpace: spec.GCMinFree}}
	if spec.EngineTOML != "" {
		toml, err := secretText(spec.EngineTOML)
		if err != nil {
			return job.Result{}, fmt.Errorf("reading --engine-toml: %w", err)
		}
		o.EngineTOML = toml
	}
	timeout := spec.Timeout.Std()
	if timeout == 0 {
		timeout = ciengine.DefaultTimeout
	}
	cfg, err := secretBytes(j.Target.Cluster.Kubeconfig)
	if err != nil {
		return job.Result{}, fmt.Errorf("reading --kubeconfig: %w", err)
	}
	c, err := ciengine.Connect(cfg, j.Target.Cluster.Context)
	if err != nil {
		return job.Result{}, err
	}
	if spec.Remove {
		if err := c.Remove(ctx, o, timeout); err != nil {
			return job.Result{}, err
		}
		return job.Result{Output: "removed the engine's DaemonSet and ConfigMap; its state stays on the nodes\n"}, nil
	}
	res, err := c.Apply(ctx, o, timeout)
	if err != nil {
		return job.Result{}, err
	}
	return job.Result{Output: res.Routes()}, nil
}
