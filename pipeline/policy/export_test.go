package policy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/goship-dev/goship/pipeline/policy"
	"github.com/goship-dev/goship/pipeline/project"
)

// policyControllerVersion is the sigstore policy-controller whose CRD the
// export is checked against.
const policyControllerVersion = "v0.13.1"

func exportPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	_, pub := keyPair(t)
	_, pub2 := keyPair(t)
	y := `keys:
  - name: release
    path: .goship/cosign.pub
  - name: release-2027
    pem: |
` + indent(string(pub2), 6) + `
require: [slsaprovenance1, cyclonedx, vuln]
maxAge: 30d
images:
  - registry.cn-hangzhou.aliyuncs.com/acme/**
allow:
  - image: docker.io/library/redis@` + digest + `
    reason: cache
`
	p, err := policy.Parse(project.DefaultPolicyFile, []byte(y), fstest.MapFS{".goship/cosign.pub": {Data: pub}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClusterImagePolicies(t *testing.T) {
	p := exportPolicy(t)
	cips, err := p.ClusterImagePolicies("gs-sign-hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(cips) != 2 || cips[0].Metadata.Name != "gs-sign-hello" || cips[1].Metadata.Name != "gs-sign-hello-allowed" {
		t.Fatalf("policies %+v", cips)
	}
	signed := cips[0].Spec
	if len(signed.Authorities) != 4 {
		t.Fatalf("authorities %+v: want bundle and legacy for each of two keys", signed.Authorities)
	}
	for _, a := range signed.Authorities {
		if a.Key == nil || !strings.Contains(a.Key.Data, "BEGIN PUBLIC KEY") || len(a.Attestations) != 3 || a.Attestations[0].Policy == nil {
			t.Errorf("authority %+v", a)
		}
	}
	if g := cips[1].Spec.Images[0].Glob; g != "index.docker.io/library/redis@"+digest || cips[1].Spec.Authorities[0].Static.Action != "pass" {
		t.Errorf("allowed policy %+v", cips[1].Spec)
	}
	if !strings.Contains(signed.Authorities[0].Attestations[0].Policy.Data, "2592000000000000") {
		t.Errorf("the provenance rego does not hold the 30-day maximum age:\n%s", signed.Authorities[0].Attestations[0].Policy.Data)
	}

	p.Images = []string{"index.docker.io/library/**"}
	if _, err := p.ClusterImagePolicies("gs-sign-hello"); err == nil || !strings.Contains(err.Error(), "matches the allowed image") {
		t.Errorf("a glob over an allowed image: %v", err)
	}
	p.Images = nil
	if _, err := p.ClusterImagePolicies("gs-sign-hello"); err == nil {
		t.Error("an export without images globs succeeded")
	}
	if _, err := exportPolicy(t).ClusterImagePolicies("Hello World"); err == nil {
		t.Error("an export with a bad name succeeded")
	}
}

// The export passes policy-controller's own CRD schema: the CRD from the
// policy-controller module (through the Go proxy, at test time) applied
// to the kit's cluster, and each exported object created there in a
// server-side dry run with strict field validation.
func TestClusterImagePoliciesPassTheCRD(t *testing.T) {
	kubeconfig := os.Getenv("GOSHIP_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("CLUSTER UNAVAILABLE: GOSHIP_KUBECONFIG not set (eval \"$(scripts/cluster.sh ready)\")")
	}
	ctx := context.Background()
	crd := policyControllerCRD(t)
	kc, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	body, err := json.Marshal(crd.Object)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{}); errors.IsNotFound(err) {
		t.Cleanup(func() { _ = crds.Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{}) })
	}
	force := true
	if _, err := crds.Patch(ctx, crd.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "gs-sign", Force: &force}); err != nil {
		t.Fatalf("applying policy-controller's CRD: %v", err)
	}
	waitEstablished(ctx, t, crds, crd.GetName())

	cips := dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: "v1beta1", Resource: "clusterimagepolicies"})
	exported, err := exportPolicy(t).ClusterImagePolicies("gs-sign-hello")
	if err != nil {
		t.Fatal(err)
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
	for _, c := range exported {
		u := toUnstructured(t, c)
		if _, err := cips.Create(ctx, u, dryRun); err != nil {
			t.Errorf("dry run of %s: %v", c.Metadata.Name, err)
		}
	}
	// The check can fail: a field the schema does not know, and a field
	// of the wrong type, are refused.
	bad := toUnstructured(t, exported[0])
	auths, _, _ := unstructured.NestedSlice(bad.Object, "spec", "authorities")
	auths[0].(map[string]any)["keyData"] = "x"
	_ = unstructured.SetNestedSlice(bad.Object, auths, "spec", "authorities")
	if _, err := cips.Create(ctx, bad, dryRun); err == nil {
		t.Error("the dry run accepted an unknown field")
	}
	bad = toUnstructured(t, exported[0])
	_ = unstructured.SetNestedField(bad.Object, "registry.example/**", "spec", "images")
	if _, err := cips.Create(ctx, bad, dryRun); err == nil {
		t.Error("the dry run accepted images as a string")
	}
}

// policyControllerCRD reads the ClusterImagePolicy CRD from the
// policy-controller module, downloaded through the Go proxy. Its
// conversion webhook (policy-controller's own service) is set to None:
// no controller runs in the test cluster, and v1beta1 and the stored
// v1alpha1 share one schema.
func policyControllerCRD(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/sigstore/policy-controller@"+policyControllerVersion)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go mod download policy-controller: %v\n%s%s", err, out.String(), stderr.String())
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out.Bytes(), &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download printed %q: %v", out.String(), err)
	}
	raw, err := os.ReadFile(filepath.Join(mod.Dir, "config", "300-clusterimagepolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &u.Object); err != nil {
		t.Fatal(err)
	}
	if u.GetName() != "clusterimagepolicies.policy.sigstore.dev" {
		t.Fatalf("the CRD file holds %s", u.GetName())
	}
	if err := unstructured.SetNestedMap(u.Object, map[string]any{"strategy": "None"}, "spec", "conversion"); err != nil {
		t.Fatal(err)
	}
	return u
}

func waitEstablished(ctx context.Context, t *testing.T, crds dynamic.NamespaceableResourceInterface, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		u, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("CRD %s not established within a minute", name)
}

func toUnstructured(t *testing.T, c policy.ClusterImagePolicy) *unstructured.Unstructured {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}
