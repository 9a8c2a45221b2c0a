package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A namespace remembers its verification policy (issue 28's "a target
// remembers"): once it took a verified release, a deploy or rollback
// there without verification is refused (*PolicyError) until a run opts
// out explicitly; each opt-out is recorded. The memory is a ConfigMap
// goship owns in the namespace, so it holds for every app, every laptop
// and every CI runner that deploys there.

const policyConfigMap = "goship-policy"

// maxOptOuts bounds the opt-outs kept in the ConfigMap.
const maxOptOuts = 20

// HeldPolicy is what a namespace remembers.
type HeldPolicy struct {
	Policy string `json:"policy"`
	// Since is the release (app/release) that set it, At when.
	Since string    `json:"since"`
	At    time.Time `json:"at"`
	// OptOuts are the runs that deployed without verification, newest
	// last.
	OptOuts []OptOut `json:"opt_outs,omitempty"`

	live *corev1.ConfigMap
}

// OptOut is one run that lifted the policy.
type OptOut struct {
	App     string    `json:"app"`
	Release string    `json:"release"`
	Who     string    `json:"who"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
}

// HeldPolicy reads the namespace's policy memory; nil when it holds none.
func (c *Cluster) HeldPolicy(ctx context.Context) (*HeldPolicy, error) {
	cm, err := c.kube.CoreV1().ConfigMaps(c.namespace).Get(ctx, policyConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the policy memory ConfigMap %s/%s: %w", c.namespace, policyConfigMap, err)
	}
	var h HeldPolicy
	if err := json.Unmarshal([]byte(cm.Data["policy.json"]), &h); err != nil {
		return nil, fmt.Errorf("reading the policy memory ConfigMap %s/%s: %w; it is goship's: restore it, or delete it to forget the policy", c.namespace, policyConfigMap, err)
	}
	h.live = cm
	return &h, nil
}

// checkPolicy refuses an unverified run in a namespace that holds a
// policy, unless it opts out.
func (c *Cluster) checkPolicy(held *HeldPolicy, p Policy) error {
	if held == nil || p.Verified || p.OptOut != "" {
		return nil
	}
	return &PolicyError{Namespace: c.namespace, Policy: held.Policy, Since: held.Since}
}

// noteOptOut writes the opt-out to log and records it, before anything
// is applied.
func (c *Cluster) noteOptOut(ctx context.Context, held *HeldPolicy, p Policy, app, release, who string, log *progress) error {
	if held == nil || p.Verified || p.OptOut == "" {
		return nil
	}
	log.printf("POLICY OPT-OUT: namespace %s holds policy %q; %s deploys release %s of %s without verification: %s", c.namespace, held.Policy, who, release, app, p.OptOut)
	held.OptOuts = append(held.OptOuts, OptOut{App: app, Release: release, Who: who, At: time.Now().UTC(), Reason: p.OptOut})
	if n := len(held.OptOuts); n > maxOptOuts {
		held.OptOuts = held.OptOuts[n-maxOptOuts:]
	}
	return c.writePolicy(ctx, held)
}

// rememberPolicy: a verified release went live; the namespace holds its
// policy from now on. No write when it already does.
func (c *Cluster) rememberPolicy(ctx context.Context, held *HeldPolicy, p Policy, app, release string) error {
	if !p.Verified || (held != nil && held.Policy == p.Name) {
		return nil
	}
	h := &HeldPolicy{Policy: p.Name, Since: app + "/" + release, At: time.Now().UTC()}
	if held != nil {
		h.OptOuts, h.live = held.OptOuts, held.live
	}
	return c.writePolicy(ctx, h)
}

func (c *Cluster) writePolicy(ctx context.Context, h *HeldPolicy) error {
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encoding the policy memory: %w", err)
	}
	cms := c.kube.CoreV1().ConfigMaps(c.namespace)
	if h.live != nil {
		cm := h.live.DeepCopy()
		cm.Data = map[string]string{"policy.json": string(data)}
		live, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: fieldManager})
		if err != nil {
			return fmt.Errorf("recording the policy memory in ConfigMap %s/%s: %w", c.namespace, policyConfigMap, err)
		}
		h.live = live
		return nil
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: policyConfigMap, Labels: map[string]string{labelPart: "policy", labelManagedBy: fieldManager}},
		Data:       map[string]string{"policy.json": string(data)},
	}
	live, err := cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil {
		return fmt.Errorf("recording the policy memory in ConfigMap %s/%s: %w", c.namespace, policyConfigMap, err)
	}
	h.live = live
	return nil
}
