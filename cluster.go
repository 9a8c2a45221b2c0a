package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/kube"
	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
)

// Cluster is a namespace of a Kubernetes cluster (Alibaba Cloud ACK or any
// other) that goship deploys to with client-go: the same verbs as a
// server (deploy, rollback, releases, status, release), checked once when
// the object is made.
type Cluster struct {
	// The goship run this cluster belongs to.
	// +private
	Goship *Goship
	// kubeconfig of the cluster.
	// +private
	Kubeconfig *dagger.Secret
	// kubeconfig context; empty: its current context.
	Context string
	// Namespace the app lives in.
	Namespace string
	// Webhook URLs told about every deploy and rollback.
	// +private
	Notify []*dagger.Secret
	// Public key every deployed or rolled-back image must be signed by.
	// +private
	VerifyKey *dagger.File
}

// Cluster is a Kubernetes cluster to deploy to (ACK or any other): a
// Deployment and a Service per app, applied server-side, gated on the
// rollout, rolled back to the previous release's manifests when the gate
// fails. The kubeconfig is read, the API server asked and the namespace
// looked up here, before anything is applied.
func (g *Goship) Cluster(
	ctx context.Context,
	// kubeconfig of the cluster, e.g. env://KUBECONFIG_DATA or file://$HOME/.kube/config (ACK: the cluster's KubeConfig from the console or `aliyun cs DescribeClusterUserKubeconfig`).
	kubeconfig *dagger.Secret,
	// kubeconfig context; default: its current context.
	// +optional
	context string,
	// Namespace to deploy into; default: the context's, else "default".
	// +optional
	namespace string,
	// Webhook URLs (secrets: they carry tokens) told about every deploy and rollback, as for server.
	// +optional
	notify []*dagger.Secret,
	// Public key (PEM, e.g. .goship/cosign.pub): deploy, rollback and release refuse an image not signed by its private half with a passed gate, before anything is applied.
	// +optional
	verifyKey *dagger.File,
) (*Cluster, error) {
	c := &Cluster{Goship: g, Kubeconfig: kubeconfig, Context: context, Namespace: namespace, Notify: notify, VerifyKey: verifyKey}
	k, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.Namespace = k.Namespace()
	if _, err := notifyTargets(ctx, notify); err != nil {
		return nil, err
	}
	return c, nil
}

// connect reads the kubeconfig and checks the cluster and namespace.
func (c *Cluster) connect(ctx context.Context) (*kube.Cluster, error) {
	if c.Kubeconfig == nil {
		return nil, fmt.Errorf("--kubeconfig is required, e.g. --kubeconfig=file://$HOME/.kube/config")
	}
	cfg, err := c.Kubeconfig.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading --kubeconfig: %w", err)
	}
	return kube.Connect(ctx, []byte(cfg), c.Context, c.Namespace)
}

// Deploy applies a release of the app (the image by digest, probes on
// --health-path, non-root with a read-only root filesystem, the .env as a
// Secret, an image pull secret from the registry credentials) under a
// Lease, waits until the rollout is complete and its pods stayed Ready
// for the settle window, and re-applies the previous release when it does
// not.
// +cache="never"
func (c *Cluster) Deploy(
	ctx context.Context,
	// Image to run, pinned by digest: repo@sha256:… as publish returns it.
	image string,
	// Registry username for the cluster's pull (an image pull secret is made from it); without it the nodes' own credentials apply (ACK: the aliyun-acr-credential-helper).
	// +optional
	registryUsername string,
	// Registry password for the cluster's pull.
	// +optional
	registryPassword *dagger.Secret,
	// The app's .env file (secret): becomes a Kubernetes Secret the container reads.
	// +optional
	env *dagger.Secret,
	// Your own manifests (a directory of YAML files) instead of the generated Deployment and Service; goship pins the app container's image by digest.
	// +optional
	manifests *dagger.Directory,
	// Pods to run; default 2.
	// +optional
	replicas int,
	// HTTP path of the readiness and liveness probes; default /healthz.
	// +optional
	healthPath string,
	// How long the rollout may take, e.g. 5m; default 5m.
	// +optional
	healthTimeout string,
	// How long every new pod must then stay Ready with no restart, e.g. 10s; default 10s.
	// +optional
	healthSettle string,
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
	// Releases to keep recorded in the cluster; default 5.
	// +optional
	keep int,
	// Wait this long for another deploy's lock (a Lease), e.g. 2m; default: refuse at once, naming the holder.
	// +optional
	lockWait string,
) (string, error) {
	spec, err := c.spec(ctx, image, registryUsername, registryPassword, env, manifests)
	if err != nil {
		return "", err
	}
	spec.Replicas = int32(replicas)
	spec.HealthPath = healthPath
	spec.CPURequest, spec.CPULimit, spec.MemoryRequest, spec.MemoryLimit = cpuRequest, cpuLimit, memoryRequest, memoryLimit
	spec.Keep = keep
	if err := parseDurationFlags(durationFlag{"health-timeout", healthTimeout, &spec.Timeout},
		durationFlag{"health-settle", healthSettle, &spec.Settle}, durationFlag{"lock-wait", lockWait, &spec.LockWait}); err != nil {
		return "", err
	}
	// Checked whole before the cluster is contacted.
	if err := spec.Validate(); err != nil {
		return "", err
	}
	if err := c.verifyDeploy(ctx, &spec, registryUsername, registryPassword); err != nil {
		return "", err
	}
	k, err := c.connect(ctx)
	if err != nil {
		return "", err
	}
	res, err := k.Deploy(ctx, spec)
	ev := notify.Event{Kind: notify.Deploy, App: spec.App, Version: spec.Version, Image: spec.Image,
		Release: res.Release.Name, Previous: res.RolledBackTo, Hosts: []string{k.Server() + "/" + k.Namespace()},
		Who: spec.Who, Duration: res.Took}
	out := ""
	if err == nil {
		out = fmt.Sprintf("deployed %s as release %s to %s in %s (namespace %s)", spec.Image, res.Release.Name, k.Server(), res.Took.Round(time.Millisecond), k.Namespace())
	}
	return c.report(ctx, ev, res.Outcome, out, err)
}

// spec is the part of a deploy's spec that deploy and release share.
func (c *Cluster) spec(ctx context.Context, image, registryUsername string, registryPassword, env *dagger.Secret, manifests *dagger.Directory) (kube.Spec, error) {
	g := c.Goship
	app, err := g.appName(ctx)
	if err != nil {
		return kube.Spec{}, err
	}
	spec := kube.Spec{App: app, Image: image, Port: g.Port, Version: g.runContext().Version(), Commit: g.Sha, Who: g.who()}
	// A bad reference is left for Validate to name.
	host := ""
	if ref, err := name.ParseReference(image); err == nil {
		host = ref.Context().RegistryStr()
	}
	spec.PlainHTTP = g.plainHTTP(host)
	if registryPassword != nil {
		if registryUsername == "" {
			return spec, fmt.Errorf("--registry-password needs --registry-username")
		}
		_, pw, err := trimmedSecret(ctx, "goship-cluster-registry-password", registryPassword)
		if err != nil {
			return spec, err
		}
		spec.RegistryAuth = &kube.RegistryAuth{Host: host, Username: registryUsername, Password: pw}
	}
	if env != nil {
		data, err := env.Plaintext(ctx)
		if err != nil {
			return spec, fmt.Errorf("reading --env: %w", err)
		}
		spec.Env = []byte(data)
	}
	if manifests != nil {
		if spec.Manifests, err = readYAMLFiles(ctx, manifests); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// Rollback re-applies a recorded release (default: the previous healthy
// one) and gates it like a deploy.
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
	// Wait this long for another deploy's lock; default: refuse at once.
	// +optional
	lockWait string,
	// With the cluster's --verify-key: roll back to a release whose image is not signed by it.
	// +optional
	allowUnsigned bool,
	// Registry username to read the target image's signature with (--verify-key).
	// +optional
	registryUsername string,
	// Registry password to read the target image's signature with.
	// +optional
	registryPassword *dagger.Secret,
) (string, error) {
	g := c.Goship
	app, err := g.appName(ctx)
	if err != nil {
		return "", err
	}
	pw, err := optionalSecret(ctx, "goship-verify-registry-password", registryPassword)
	if err != nil {
		return "", err
	}
	spec := kube.RollbackSpec{App: app, To: to, Who: g.who(), Verify: g.verifyHook(c.VerifyKey, allowUnsigned, registryUsername, pw)}
	if err := parseDurationFlags(durationFlag{"health-timeout", healthTimeout, &spec.Timeout},
		durationFlag{"health-settle", healthSettle, &spec.Settle}, durationFlag{"lock-wait", lockWait, &spec.LockWait}); err != nil {
		return "", err
	}
	k, err := c.connect(ctx)
	if err != nil {
		return "", err
	}
	res, err := k.Rollback(ctx, spec)
	ev := notify.Event{Kind: notify.Rollback, App: app, Image: res.Release.Image, Release: res.Release.Name,
		Hosts: []string{k.Server() + "/" + k.Namespace()}, Who: spec.Who, Duration: res.Took}
	out := ""
	if err == nil {
		out = fmt.Sprintf("rolled back %s in namespace %s to %s (%s)", app, k.Namespace(), res.Release.Name, res.Release.Image)
	}
	return c.report(ctx, ev, res.Outcome, out, err)
}

// Releases lists the app's releases recorded in the cluster, newest first.
// +cache="never"
func (c *Cluster) Releases(ctx context.Context) (string, error) {
	app, k, err := c.appAndCluster(ctx)
	if err != nil {
		return "", err
	}
	rels, err := k.Releases(ctx, app)
	if err != nil {
		return "", err
	}
	return kube.FormatReleases(rels), nil
}

// Status says which release is live and how its pods are: ready,
// restarts, image.
// +cache="never"
func (c *Cluster) Status(ctx context.Context) (string, error) {
	app, k, err := c.appAndCluster(ctx)
	if err != nil {
		return "", err
	}
	st, err := k.Status(ctx, app)
	if err != nil {
		return "", err
	}
	return kube.FormatStatus(st), nil
}

// Release runs ci, then publish, then deploy to this cluster, and returns
// the deployed reference. Nothing is pushed unless every check passes;
// nothing is deployed unless the push verified. With --sign-key the image
// is signed as it is published, and with the cluster's --verify-key
// checked before it is applied.
// +cache="never"
func (c *Cluster) Release(
	ctx context.Context,
	// Registry host (see publish).
	registryHost string,
	// +optional
	namespace string,
	// +optional
	repository string,
	// Registry username, for the push and the cluster's pull.
	username string,
	// Registry password.
	password *dagger.Secret,
	// The app's .env file (secret).
	// +optional
	env *dagger.Secret,
	// HTTP path of the probes; default /healthz.
	// +optional
	healthPath string,
	// How long the rollout may take; default 5m.
	// +optional
	healthTimeout string,
	// Private key that signs the published image (see publish).
	// +optional
	signKey *dagger.Secret,
	// Password of an encrypted --sign-key.
	// +optional
	signPassword *dagger.Secret,
	// The CI run the gate statement names (see publish).
	// +optional
	workflowRun string,
) (string, error) {
	g := c.Goship
	ref, err := g.ciAndPublish(ctx, registryHost, namespace, repository, username, password, releaseSigning{signKey, signPassword, workflowRun})
	if err != nil {
		return "", err
	}
	out, err := c.Deploy(ctx, ref, username, password, env, nil, 0, healthPath, healthTimeout, "", "", "", "", "", 0, "")
	if err != nil {
		return "", fmt.Errorf("published %s, but the deploy failed: %w", ref, err)
	}
	fmt.Println(out)
	return ref, nil
}

// appAndCluster are the app name and the checked cluster connection.
func (c *Cluster) appAndCluster(ctx context.Context) (string, *kube.Cluster, error) {
	app, err := c.Goship.appName(ctx)
	if err != nil {
		return "", nil, err
	}
	k, err := c.connect(ctx)
	return app, k, err
}

// report tells the webhooks how the run ended and returns out, or err
// with what the webhooks were told.
func (c *Cluster) report(ctx context.Context, ev notify.Event, o outcome.Outcome, out string, err error) (string, error) {
	ev.Outcome = o
	if err != nil {
		ev.Reason = err.Error()
	}
	told := tellWebhooks(ctx, c.Notify, ev)
	if err != nil {
		if told != "" {
			err = fmt.Errorf("%w\n%s", err, told)
		}
		return "", err
	}
	return strings.TrimSpace(out + "\n" + told), nil
}
