package main

import (
	"context"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// CiEngine runs a shared Dagger engine for CI on the cluster, as Dagger
// documents it: a DaemonSet with one privileged engine per node, its state
// and socket in node directories (a restarted pod stays warm), GC sized for
// the node's disk. It waits until every engine is Ready and prints how
// runners reach them: kube-pod:// from anywhere with kubectl, or the
// node's socket from a runner pod on that node. Applying it again with the
// same settings restarts nothing. Projects sharing it each need their own
// --cache-namespace.
// +cache="never"
func (c *Cluster) CiEngine(
	ctx context.Context,
	// Engine image, pinned by digest, e.g. registry.dagger.io/engine:v0.21.0@sha256:… (or your ACR mirror of it). Required unless --remove.
	// +optional
	image string,
	// Name of the DaemonSet, its ConfigMap and node directories; default dagger-engine.
	// +optional
	name string,
	// Namespace the engine runs in, created when missing; default dagger.
	// +optional
	engineNamespace string,
	// The engine's engine.toml (registry mirrors and the like).
	// +optional
	engineToml *dagger.File,
	// Run the engine on the node's network, when what its containers reach (a registry mirror, a Go proxy) listens on the node.
	// +optional
	hostNetwork bool,
	// The engine's cache may grow to this (engine.json gc.maxUsedSpace, e.g. 100GiB); the three --gc-* unset: sized for the smallest node's disk (half of it).
	// +optional
	gcMaxUsed string,
	// Cache the engine keeps whatever the free space (gc.reservedSpace); none of the three set: 10% of the disk, at most 10GiB.
	// +optional
	gcReserved string,
	// Free disk space the engine collects to keep (gc.minFreeSpace); none of the three set: 15% of the disk. On a node whose disk is shared and already full, size all three for what is free.
	// +optional
	gcMinFree string,
	// How long to wait for every engine to be Ready; default 10m.
	// +optional
	timeout string,
	// Remove the engine's DaemonSet and ConfigMap instead; its state stays on the nodes.
	// +optional
	remove bool,
) (string, error) {
	wait, err := job.ParseDuration("--timeout", timeout)
	if err != nil {
		return "", err
	}
	m := &mounts{}
	spec := &job.CIEngine{Image: image, Name: name, Namespace: engineNamespace, HostNetwork: hostNetwork, Timeout: wait, Remove: remove,
		GCMaxUsed: gcMaxUsed, GCReserved: gcReserved, GCMinFree: gcMinFree}
	spec.EngineTOML = m.file("engine.toml", engineToml)
	j := job.Job{Verb: job.VerbCIEngine, CIEngine: spec, Target: c.jobTarget(m)}
	return output(c.Goship.run(ctx, j, m))
}
