package kube

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Ingress routes a host to the app's Service. ACK's ALB Ingress
// controller (class "alb") and ingress-nginx (class "nginx") both take
// this standard networking.k8s.io/v1 object; controller options go in
// Annotations.
type Ingress struct {
	// Class is the IngressClass (ingressClassName): "alb", "nginx", …;
	// empty: the cluster's default class.
	Class string
	// Host is the DNS name routed to the app, e.g. shop.example.com.
	Host string
	// Path is the path prefix routed (default "/").
	Path string
	// TLSSecret is a kubernetes.io/tls Secret in the namespace holding the
	// host's certificate; empty: plain HTTP (on ALB, a certificate can
	// also come from the listener's annotations).
	TLSSecret string
	// Annotations are passed to the controller, e.g.
	// alb.ingress.kubernetes.io/healthcheck-path.
	Annotations map[string]string
}

func (in *Ingress) validate() error {
	if in == nil {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(strings.TrimPrefix(in.Host, "*.")); in.Host == "" || len(errs) > 0 {
		return fmt.Errorf("ingress host %q: want a DNS name such as shop.example.com (%s)", in.Host, strings.Join(errs, "; "))
	}
	if in.Path != "" && !strings.HasPrefix(in.Path, "/") {
		return fmt.Errorf("ingress path %q: must start with /", in.Path)
	}
	if in.Class != "" {
		if errs := validation.IsDNS1123Subdomain(in.Class); len(errs) > 0 {
			return fmt.Errorf("ingress class %q: %s", in.Class, strings.Join(errs, "; "))
		}
	}
	if in.TLSSecret != "" {
		if errs := validation.IsDNS1123Subdomain(in.TLSSecret); len(errs) > 0 {
			return fmt.Errorf("ingress TLS secret %q: %s", in.TLSSecret, strings.Join(errs, "; "))
		}
	}
	return nil
}

// extras are the objects goship adds to a release beside the app's
// Deployment and Service: a PodDisruptionBudget for more than one replica
// (unless the manifests bring one or the spec opts out) and the Ingress.
func extras(s Spec, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	dep := appDeployment(objs, s.App)
	selector, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels")
	replicas, found, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	var out []*unstructured.Unstructured
	if !s.NoDisruptionBudget && replicas > 1 && !hasKind(objs, "PodDisruptionBudget") && len(selector) > 0 {
		pdb, err := toUnstructured(disruptionBudget(s, selector), policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"))
		if err != nil {
			return nil, err
		}
		out = append(out, pdb)
	}
	if s.Ingress != nil {
		svc, port := appService(objs, dep)
		if svc == "" {
			return nil, fmt.Errorf("ingress: no Service selects the pods of Deployment %s: add one to the manifests", s.App)
		}
		ing, err := toUnstructured(ingress(s, svc, port), networkingv1.SchemeGroupVersion.WithKind("Ingress"))
		if err != nil {
			return nil, err
		}
		out = append(out, ing)
	}
	return out, nil
}

func hasKind(objs []*unstructured.Unstructured, kind string) bool {
	for _, o := range objs {
		if o.GetKind() == kind {
			return true
		}
	}
	return false
}

// disruptionBudget lets a node drain or an ACK node-pool upgrade evict
// one pod of the app at a time, never the whole app at once. It selects
// every pod of the app, so with blue-green it spans both colors.
func disruptionBudget(s Spec, selector map[string]string) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: s.App, Labels: map[string]string{labelName: s.App, labelApp: s.App, labelManagedBy: fieldManager}},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: selector},
		},
	}
}

// appService is the first Service whose selector picks the pods of dep,
// and its first port.
func appService(objs []*unstructured.Unstructured, dep *unstructured.Unstructured) (string, int64) {
	podLabels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	for _, o := range objs {
		if o.GetKind() != "Service" {
			continue
		}
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
		if len(sel) == 0 || !subset(sel, podLabels) {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
		if len(ports) == 0 {
			continue
		}
		p, _ := ports[0].(map[string]any)
		port, _, _ := unstructured.NestedInt64(p, "port")
		return o.GetName(), port
	}
	return "", 0
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func ingress(s Spec, svc string, port int64) *networkingv1.Ingress {
	in := s.Ingress
	pathType := networkingv1.PathTypePrefix
	p := in.Path
	if p == "" {
		p = "/"
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: s.App, Labels: map[string]string{labelName: s.App, labelApp: s.App, labelManagedBy: fieldManager}, Annotations: in.Annotations},
		Spec: networkingv1.IngressSpec{
			Rules: []networkingv1.IngressRule{{
				Host: in.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: p, PathType: &pathType,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: int32(port)}}}, //nolint:gosec // a Service port, 1-65535
				}}}},
			}},
		},
	}
	if in.Class != "" {
		ing.Spec.IngressClassName = &in.Class
	}
	if in.TLSSecret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{in.Host}, SecretName: in.TLSSecret}}
	}
	return ing
}
