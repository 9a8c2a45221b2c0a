package kube

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Bounds on talking to the API server.
const (
	requestTimeout = 30 * time.Second // any one request
	connectTimeout = 15 * time.Second // Connect's checks together
)

// Cluster is a connection to one namespace of a cluster, checked by
// Connect.
type Cluster struct {
	namespace string
	server    string
	kube      clients
	dyn       dynamic.Interface
	mapper    meta.RESTMapper
}

// Namespace is the namespace every verb works in.
func (c *Cluster) Namespace() string { return c.namespace }

// Server is the API server's URL.
func (c *Cluster) Server() string { return c.server }

// ConnectOption changes how Connect talks to the API server.
type ConnectOption func(*rest.Config)

// WithTransport wraps the HTTP transport of every request (e.g. to count
// or log them).
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) ConnectOption {
	return func(rc *rest.Config) { rc.Wrap(wrap) }
}

// Connect parses kubeconfig, picks contextName (empty: the current
// context) and namespace (empty: the context's, else "default"), and
// checks that the API server answers and the namespace exists. Nothing is
// applied. A context whose user runs an exec credential plugin is refused
// before any connection, with *ExecPluginError.
func Connect(ctx context.Context, kubeconfig []byte, contextName, namespace string, opts ...ConnectOption) (*Cluster, error) {
	cfg, err := loadKubeconfig(kubeconfig, contextName)
	if err != nil {
		return nil, err
	}
	if contextName == "" {
		contextName = cfg.CurrentContext
	}
	if namespace == "" {
		namespace = cfg.Contexts[contextName].Namespace
	}
	if namespace == "" {
		namespace = "default"
	}
	rc, err := clientcmd.NewNonInteractiveClientConfig(*cfg, contextName, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: %w", contextName, err)
	}
	rc.Timeout = requestTimeout
	rc.UserAgent = "goship"
	rc.QPS, rc.Burst = 20, 40
	rc.WarningHandler = rest.NoWarnings{}
	for _, o := range opts {
		o(rc)
	}
	kube, err := newClients(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: client: %w", contextName, err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig context %q: dynamic client: %w", contextName, err)
	}
	c := &Cluster{
		namespace: namespace, server: rc.Host, kube: kube, dyn: dyn,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery())),
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if _, err := kube.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx); err != nil {
		return nil, fmt.Errorf("API server %s (context %q) does not answer: %w; check the kubeconfig's server and that this machine reaches it", rc.Host, contextName, err)
	}
	if _, err := kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("namespace %q not found on %s: create it or pass --namespace", namespace, rc.Host)
		}
		return nil, fmt.Errorf("reading namespace %q on %s: %w", namespace, rc.Host, err)
	}
	return c, nil
}

// loadKubeconfig parses a kubeconfig and checks that contextName (or its
// current context) names a cluster with a server.
func loadKubeconfig(kubeconfig []byte, contextName string) (*clientcmdapi.Config, error) {
	if len(strings.TrimSpace(string(kubeconfig))) == 0 {
		return nil, fmt.Errorf("kubeconfig is empty: pass the file `kubectl config view --raw` prints (on ACK: the cluster's connection info)")
	}
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("parsing kubeconfig: %w", err)
	}
	names := make([]string, 0, len(cfg.Contexts))
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	if contextName == "" {
		contextName = cfg.CurrentContext
		if contextName == "" {
			return nil, fmt.Errorf("kubeconfig has no current-context: pass --context (it has: %s)", listOrNone(names))
		}
	}
	kctx, ok := cfg.Contexts[contextName]
	if !ok {
		return nil, fmt.Errorf("kubeconfig has no context %q: pass one of: %s", contextName, listOrNone(names))
	}
	cl, ok := cfg.Clusters[kctx.Cluster]
	if !ok {
		return nil, fmt.Errorf("kubeconfig context %q names cluster %q, which the kubeconfig does not define", contextName, kctx.Cluster)
	}
	if cl.Server == "" {
		return nil, fmt.Errorf("kubeconfig cluster %q (context %q) has no server", kctx.Cluster, contextName)
	}
	user, ok := cfg.AuthInfos[kctx.AuthInfo]
	if kctx.AuthInfo != "" && !ok {
		return nil, fmt.Errorf("kubeconfig context %q names user %q, which the kubeconfig does not define", contextName, kctx.AuthInfo)
	}
	// goship runs in a container (the Dagger engine, a CI runner's): a
	// credential plugin the kubeconfig execs (ack-ram-tool, kubelogin,
	// aws eks get-token…) is not there, and would need the user's cloud
	// login if it were. Say so before client-go fails with "executable
	// not found".
	if user != nil && user.Exec != nil {
		return nil, &ExecPluginError{Context: contextName, User: kctx.AuthInfo, Command: user.Exec.Command}
	}
	if user != nil && user.AuthProvider != nil {
		return nil, &ExecPluginError{Context: contextName, User: kctx.AuthInfo, Command: "auth-provider " + user.AuthProvider.Name}
	}
	return cfg, nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
