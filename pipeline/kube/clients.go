package kube

import (
	"fmt"

	"k8s.io/client-go/discovery"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	coordv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// clients are the typed API groups goship uses, and no others: the whole
// clientset (k8s.io/client-go/kubernetes) compiles every API group of
// Kubernetes, which the Dagger module would pay for on every cold load.
type clients struct {
	core  corev1client.CoreV1Interface
	apps  appsv1client.AppsV1Interface
	coord coordv1client.CoordinationV1Interface
	disc  discovery.DiscoveryInterface
}

func newClients(rc *rest.Config) (clients, error) {
	var c clients
	var err error
	if c.core, err = corev1client.NewForConfig(rc); err != nil {
		return c, fmt.Errorf("core/v1 client: %w", err)
	}
	if c.apps, err = appsv1client.NewForConfig(rc); err != nil {
		return c, fmt.Errorf("apps/v1 client: %w", err)
	}
	if c.coord, err = coordv1client.NewForConfig(rc); err != nil {
		return c, fmt.Errorf("coordination/v1 client: %w", err)
	}
	if c.disc, err = discovery.NewDiscoveryClientForConfig(rc); err != nil {
		return c, fmt.Errorf("discovery client: %w", err)
	}
	return c, nil
}

func (c clients) CoreV1() corev1client.CoreV1Interface                  { return c.core }
func (c clients) AppsV1() appsv1client.AppsV1Interface                  { return c.apps }
func (c clients) CoordinationV1() coordv1client.CoordinationV1Interface { return c.coord }
func (c clients) Discovery() discovery.DiscoveryInterface               { return c.disc }
