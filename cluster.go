package main

import (
	"context"
	"fmt"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// Cluster is a namespace of a Kubernetes cluster (Alibaba Cloud ACK or any
// other) that goship deploys to: chain deployment, rollback, releases or
// status on it.
type Cluster struct {
	// The goship run this cluster belongs to.
	// +private
	Goship *Goship
	// kubeconfig of the cluster.
	// +private
	Kubeconfig *dagger.Secret
	// kubeconfig context; empty: its current context.
	KubeContext string
	// Namespace the app lives in; empty: the context's, else default.
	Namespace string
}

// Cluster is a Kubernetes cluster to deploy to (ACK or any other): the
// app's objects applied server-side, gated before traffic moves, rolled
// back to the previous release when the gate fails. The runner reads the
// kubeconfig, asks the API server and looks the namespace up before
// anything is applied.
func (g *Goship) Cluster(
	// kubeconfig of the cluster, e.g. env://KUBECONFIG_DATA or file://$HOME/.kube/config (ACK: the console's certificate KubeConfig; an exec plugin such as ack-ram-tool cannot run inside goship's container).
	kubeconfig *dagger.Secret,
	// kubeconfig context; default: its current context.
	// +optional
	kubeContext string,
	// Namespace to deploy into; default: the context's, else "default".
	// +optional
	namespace string,
) (*Cluster, error) {
	if kubeconfig == nil {
		return nil, fmt.Errorf("--kubeconfig is required, e.g. --kubeconfig=file://$HOME/.kube/config")
	}
	return &Cluster{Goship: g, Kubeconfig: kubeconfig, KubeContext: kubeContext, Namespace: namespace}, nil
}

// jobTarget is how the runner reaches the cluster.
func (c *Cluster) jobTarget(m *mounts) *job.Target {
	return &job.Target{Cluster: &job.Cluster{Kubeconfig: m.secret("kubeconfig", c.Kubeconfig), Context: c.KubeContext, Namespace: c.Namespace}}
}

func (c *Cluster) goship() *Goship { return c.Goship }

// Deployment starts a release of the app to the cluster: a Deployment and
// a Service (or your manifests), probes on the health path, non-root with
// a read-only root filesystem, the .env as a Secret, an image pull secret
// from the registry credentials. Chain with-blue-green, with-health,
// with-resources, with-ingress, with-timeouts or with-unverified as
// needed, then run or release.
func (c *Cluster) Deployment(
	// Image to run, pinned by digest: repo@sha256:… as publish returns it. Empty for release.
	// +optional
	image string,
	// The app's .env file (secret): becomes a Kubernetes Secret the container reads.
	// +optional
	env *dagger.Secret,
	// Your own manifests (a directory of YAML files, or a kustomization) instead of the generated Deployment and Service; goship pins the app container's image by digest.
	// +optional
	manifests *dagger.Directory,
	// The kustomize overlay inside --manifests to build, e.g. overlays/prod; default: its root, when it has a kustomization.yaml.
	// +optional
	kustomize string,
	// Pods to run; default 2, or what the HorizontalPodAutoscaler that targets the app says.
	// +optional
	replicas int,
	// Releases to keep recorded in the cluster; default 5.
	// +optional
	keep int,
	// Registry username for the cluster's pull (an image pull secret is made from it; an ACR temporary token stops working after an hour, so use a long-lived account or the nodes' credential helper). Without it the nodes' own credentials apply (ACK: aliyun-acr-credential-helper).
	// +optional
	registryUsername string,
	// Registry password for the cluster's pull.
	// +optional
	registryPassword *dagger.Secret,
) *Deployment {
	d := newDeployment(c, job.Deploy{Image: image, Keep: keep, Kube: &job.Kube{Replicas: replicas, Kustomize: kustomize}})
	d.Env, d.Manifests, d.RegistryUsername, d.RegistryPassword = env, manifests, registryUsername, registryPassword
	return d
}

// WithResources sets the app container's requests and limits (Kubernetes
// quantities). Clusters only.
func (d *Deployment) WithResources(
	// CPU request, e.g. 100m.
	// +optional
	cpuRequest string,
	// CPU limit, e.g. 500m.
	// +optional
	cpuLimit string,
	// Memory request, e.g. 64Mi.
	// +optional
	memoryRequest string,
	// Memory limit, e.g. 256Mi.
	// +optional
	memoryLimit string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		k := s.KubeSettings()
		k.CPURequest, k.CPULimit, k.MemoryRequest, k.MemoryLimit = cpuRequest, cpuLimit, memoryRequest, memoryLimit
		return nil
	})
}

// WithIngress routes a host name to the app through a standard Ingress
// (ACK's ALB Ingress and ingress-nginx both take it). Clusters only.
func (d *Deployment) WithIngress(
	// Host name, e.g. api.example.com.
	host string,
	// Ingress class, e.g. alb or nginx; default: the cluster's default class.
	// +optional
	class string,
	// Secret holding the TLS certificate for the host (kubernetes.io/tls); empty: plain HTTP.
	// +optional
	tlsSecret string,
	// Path prefix routed to the app; default /.
	// +optional
	path string,
) *Deployment {
	return d.set(func(s *job.Deploy) error {
		s.KubeSettings().Ingress = &job.Ingress{Host: host, Class: class, TLSSecret: tlsSecret, Path: path}
		return nil
	})
}

// WithoutDisruptionBudget leaves out the PodDisruptionBudget goship makes
// for more than one replica (at most one pod down during a node drain).
// Clusters only.
func (d *Deployment) WithoutDisruptionBudget() *Deployment {
	return d.set(func(s *job.Deploy) error { s.KubeSettings().NoDisruptionBudget = true; return nil })
}

// Rollback re-applies a recorded release (default: the previous healthy
// one) and gates it like a deploy. With a policy, the target image is
// verified first.
// +cache="never"
func (c *Cluster) Rollback(
	ctx context.Context,
	// Release to return to (see releases); default: the previous healthy one.
	// +optional
	to string,
	// How long the rollout may take; default 5m.
	// +optional
	healthTimeout string,
	// How long every pod must then stay Ready; default 10s.
	// +optional
	healthSettle string,
	// Wait this long for another deploy's lock; default: refuse at once, naming the holder.
	// +optional
	lockWait string,
	// Registry username to read the target image's signature with.
	// +optional
	registryUsername string,
	// Registry password to read the target image's signature with.
	// +optional
	registryPassword *dagger.Secret,
	// Roll back without verifying the image in a namespace that remembers a verified release: the reason, recorded in the namespace and the notification.
	// +optional
	unverified string,
) (string, error) {
	return rollbackOn(ctx, c, rollbackRequest{to, healthTimeout, healthSettle, lockWait, registryUsername, registryPassword, unverified})
}

// Releases lists the app's releases recorded in the cluster, newest first.
// +cache="never"
func (c *Cluster) Releases(ctx context.Context) (string, error) {
	return onTarget(ctx, c, job.VerbReleases, job.Job{})
}

// Status says which release is live and how its pods are: ready,
// restarts, image.
// +cache="never"
func (c *Cluster) Status(ctx context.Context) (string, error) {
	return onTarget(ctx, c, job.VerbStatus, job.Job{})
}
