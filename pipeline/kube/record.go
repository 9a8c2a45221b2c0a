package kube

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// releaseSecretType marks goship's release records. They are Secrets, not
// ConfigMaps, because the manifests they keep include the .env Secret.
const releaseSecretType corev1.SecretType = "goship.dev/release" //nolint:gosec // a type name, not a credential

// Release is one applied release, as recorded in the cluster.
type Release struct {
	Name      string    `json:"name"` // UTC time and version: 20261202142501-v1.2.0
	App       string    `json:"app"`
	Image     string    `json:"image"`
	Version   string    `json:"version,omitempty"`
	Commit    string    `json:"commit,omitempty"`
	Who       string    `json:"who"`
	CreatedAt time.Time `json:"created_at"`
	// Outcome is how the run that brought this release ended, in the
	// vocabulary every target shares: succeeded (it passed its gate and
	// went live), unchanged (it failed its gate beside the live release and
	// never served), rolled-back (it failed and the previous release was
	// restored) or failed. Empty while its deploy runs, or when that deploy
	// stopped before it could record an outcome (see Interrupted). Error
	// says why it failed.
	Outcome outcome.Outcome `json:"outcome"`
	Error   string          `json:"error,omitempty"`
	// Strategy is how it went live; Color the blue-green color it ran as.
	Strategy Strategy `json:"strategy,omitempty"`
	Color    string   `json:"color,omitempty"`
	// Policy is the verification policy it passed ("" if none), and
	// OptOut the reason given for deploying it without one in a namespace
	// that holds one.
	Policy string `json:"policy,omitempty"`
	OptOut string `json:"opt_out,omitempty"`
	// Current is set by Releases: the live Deployment names this release.
	Current bool `json:"-"`

	objects []*unstructured.Unstructured // what it applied, for a rollback
}

// Healthy reports whether the release passed its gate and went live.
func (r Release) Healthy() bool { return r.Outcome == outcome.Succeeded }

// Pending reports whether no outcome is recorded (yet).
func (r Release) Pending() bool { return r.Outcome == "" }

// legacyOutcomes are the outcomes records kept before the shared
// vocabulary.
var legacyOutcomes = map[string]outcome.Outcome{"healthy": outcome.Succeeded, "failed": outcome.Failed, "pending": ""}

// releaseName is when a release was made and which version it is; names
// sort by time.
func releaseName(t time.Time, version string) string {
	n := t.UTC().Format("20060102150405")
	if v := nameSuffix(version); v != "" {
		n += "-" + v
	}
	return n
}

// freeReleaseName is releaseName for t, or for the first later second
// that no release in rels has taken.
func freeReleaseName(t time.Time, version string, rels []Release) string {
	taken := map[string]bool{}
	for _, r := range rels {
		taken[r.Name] = true
	}
	name := releaseName(t, version)
	for taken[name] {
		t = t.Add(time.Second)
		name = releaseName(t, version)
	}
	return name
}

func recordName(app, release string) string { return "goship-release-" + app + "-" + release }

// encodeRecord is the Secret that records rel and its objects.
func encodeRecord(rel Release, objs []*unstructured.Unstructured) (*corev1.Secret, error) {
	meta, err := json.Marshal(rel)
	if err != nil {
		return nil, fmt.Errorf("encoding release %s: %w", rel.Name, err)
	}
	raw := make([]map[string]any, len(objs))
	for i, o := range objs {
		raw[i] = o.Object
	}
	manifests, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("encoding the manifests of release %s: %w", rel.Name, err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: recordName(rel.App, rel.Name),
			Labels: map[string]string{
				labelApp: rel.App, labelPart: "release", labelOutcome: outcomeLabel(rel.Outcome), labelManagedBy: fieldManager,
			},
		},
		Type: releaseSecretType,
		Data: map[string][]byte{"release.json": meta, "manifests.json": manifests},
	}, nil
}

func outcomeLabel(o outcome.Outcome) string {
	if o == "" {
		return "pending"
	}
	return string(o)
}

// decodeRecord reads a release and its objects back from its Secret.
func decodeRecord(sec *corev1.Secret) (Release, error) {
	var rel Release
	if err := json.Unmarshal(sec.Data["release.json"], &rel); err != nil {
		return rel, fmt.Errorf("reading release record %s: %w", sec.Name, err)
	}
	if o, ok := legacyOutcomes[string(rel.Outcome)]; ok {
		rel.Outcome = o
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(sec.Data["manifests.json"], &raw); err != nil {
		return rel, fmt.Errorf("reading the manifests of release record %s: %w", sec.Name, err)
	}
	for i, m := range raw {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(m); err != nil {
			return rel, fmt.Errorf("reading manifest %d of release record %s: %w", i, sec.Name, err)
		}
		rel.objects = append(rel.objects, u)
	}
	return rel, nil
}
