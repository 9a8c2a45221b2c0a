package policy

import (
	"errors"
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"

	"github.com/goship-dev/goship/pipeline/sign"
)

// ClusterImagePolicy is a sigstore policy-controller ClusterImagePolicy
// (policy.sigstore.dev/v1beta1), as much of it as goship writes.
type ClusterImagePolicy struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       CIPSpec    `json:"spec"`
}

// ObjectMeta names the policy.
type ObjectMeta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// CIPSpec is the policy: which images, which authorities.
type CIPSpec struct {
	Mode        string      `json:"mode,omitempty"`
	Images      []ImageGlob `json:"images"`
	Authorities []Authority `json:"authorities"`
}

// ImageGlob matches image references.
type ImageGlob struct {
	Glob string `json:"glob"`
}

// Authority is one way an image may pass; any one suffices.
type Authority struct {
	Name            string        `json:"name"`
	Key             *KeyRef       `json:"key,omitempty"`
	SignatureFormat string        `json:"signatureFormat,omitempty"`
	Attestations    []Attestation `json:"attestations,omitempty"`
	Static          *StaticRef    `json:"static,omitempty"`
}

// KeyRef is an inline public key.
type KeyRef struct {
	Data          string `json:"data"`
	HashAlgorithm string `json:"hashAlgorithm,omitempty"`
}

// Attestation is a required attestation, with an optional policy on it.
type Attestation struct {
	Name          string     `json:"name"`
	PredicateType string     `json:"predicateType"`
	Policy        *AttPolicy `json:"policy,omitempty"`
}

// AttPolicy is a rego or cue policy on an attestation's statement.
type AttPolicy struct {
	Type string `json:"type"`
	Data string `json:"data"`
}

// StaticRef passes or fails matching images without a signature.
type StaticRef struct {
	Action string `json:"action"`
}

var cipNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$`)

// ClusterImagePolicies exports p for policy-controller: name requires
// every image matching p.Images to be signed by one of p's keys (in the
// bundle format goship writes, or cosign's legacy tags) and to carry the
// required attestations, its provenance no older than p.MaxAge with
// every ci step passed; name-allowed passes the allowed third-party
// digests unsigned. policy-controller admits an image only if every
// policy whose globs match it passes, so p.Images must not match the
// allowed images.
func (p *Policy) ClusterImagePolicies(name string) ([]ClusterImagePolicy, error) {
	if !cipNameRE.MatchString(name) {
		return nil, fmt.Errorf("policy export: name %q: use lower-case letters, digits and dashes", name)
	}
	if len(p.Images) == 0 {
		return nil, errors.New("policy export: the policy has no images globs: list the repositories its keys sign under images: (e.g. registry.cn-hangzhou.aliyuncs.com/acme/**)")
	}
	for _, g := range p.Images {
		for _, a := range p.Allow {
			if globMatches(g, a.ref.Name()) {
				return nil, fmt.Errorf("policy export: images glob %q matches the allowed image %s: policy-controller would require a signature for it too; narrow the glob", g, a.Image)
			}
		}
	}
	var atts []Attestation
	for _, uri := range p.Require {
		a := Attestation{Name: shortName(uri), PredicateType: uri}
		if uri == sign.ProvenancePredicateType {
			a.Policy = &AttPolicy{Type: "rego", Data: ProvenanceRego(p)}
		}
		atts = append(atts, a)
	}
	signed := ClusterImagePolicy{
		APIVersion: "policy.sigstore.dev/v1beta1", Kind: "ClusterImagePolicy",
		Metadata: ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "goship"}},
		Spec:     CIPSpec{Mode: "enforce"},
	}
	for _, g := range p.Images {
		signed.Spec.Images = append(signed.Spec.Images, ImageGlob{Glob: g})
	}
	for _, k := range p.Keys {
		// One authority per storage format goship writes: bundles
		// (referrers), and cosign's legacy tags where the registry
		// refuses artifacts (ACR Personal Edition).
		for _, format := range []string{"bundle", "legacy"} {
			signed.Spec.Authorities = append(signed.Spec.Authorities, Authority{
				Name:            k.Name + "-" + format,
				Key:             &KeyRef{Data: string(k.PEM), HashAlgorithm: "sha256"},
				SignatureFormat: format,
				Attestations:    atts,
			})
		}
	}
	out := []ClusterImagePolicy{signed}
	if len(p.Allow) > 0 {
		allowed := ClusterImagePolicy{
			APIVersion: "policy.sigstore.dev/v1beta1", Kind: "ClusterImagePolicy",
			Metadata: ObjectMeta{Name: name + "-allowed", Labels: map[string]string{"app.kubernetes.io/managed-by": "goship"}},
			Spec:     CIPSpec{Mode: "enforce", Authorities: []Authority{{Name: "allowed-by-digest", Static: &StaticRef{Action: "pass"}}}},
		}
		for _, a := range p.Allow {
			// policy-controller matches globs against the fully qualified
			// name (index.docker.io/library/redis@sha256:…).
			allowed.Spec.Images = append(allowed.Spec.Images, ImageGlob{Glob: a.ref.Name()})
		}
		out = append(out, allowed)
	}
	return out, nil
}

// YAML is the policies as one multi-document YAML stream.
func YAML(cips []ClusterImagePolicy) ([]byte, error) {
	var out []byte
	for i, c := range cips {
		b, err := yaml.Marshal(c)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, b...)
	}
	return out, nil
}

func shortName(uri string) string {
	for short, u := range PredicateTypes {
		if u == uri {
			return short
		}
	}
	return uri
}

// ProvenanceRego is the rego policy (policy-controller's package sigstore,
// rule isCompliant) on goship's provenance: goship's build type, every ci
// step passed, and the run no older than p.MaxAge.
func ProvenanceRego(p *Policy) string {
	return fmt.Sprintf(`package sigstore

default isCompliant = false

steps[s] {
	s := input.predicate.runDetails.byproducts[_]
	startswith(s.name, "goship-step:")
}

failed[s] {
	s := steps[_]
	s.annotations.outcome != "passed"
}

isCompliant {
	input.predicateType == %q
	input.predicate.buildDefinition.buildType == %q
	count(steps) > 0
	count(failed) == 0
	finished := time.parse_rfc3339_ns(input.predicate.runDetails.metadata.finishedOn)
	time.now_ns() - finished <= %d
}
`, sign.ProvenancePredicateType, sign.BuildType, p.MaxAge.Nanoseconds())
}

// globMatches is policy-controller's glob match: * within a path element,
// ** across them.
func globMatches(glob, image string) bool {
	re := regexp.QuoteMeta(glob)
	re = regexp.MustCompile(`\\\*\\\*`).ReplaceAllString(re, "\x00")
	re = regexp.MustCompile(`\\\*`).ReplaceAllString(re, "[^/]*")
	re = regexp.MustCompile("\x00").ReplaceAllString(re, ".*")
	ok, err := regexp.MatchString("^"+re+"$", image)
	return err == nil && ok
}
