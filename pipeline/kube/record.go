package kube

import (
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Outcomes of a release, as recorded.
const (
	OutcomePending = "pending"
	OutcomeHealthy = "healthy"
	OutcomeFailed  = "failed"
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
	// Outcome is pending, healthy (passed its gate) or failed; Error says
	// why it failed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	// Current is set by Releases: the live Deployment names this release.
	Current bool `json:"-"`

	objects []*unstructured.Unstructured // what it applied, for a rollback
}

// releaseName is when a release was made and which version it is; names
// sort by time.
func releaseName(t time.Time, version string) string {
	n := t.UTC().Format("20060102150405")
	if v := nameSuffix(version); v != "" {
		n += "-" + v
	}
	return n
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
				labelApp: rel.App, labelPart: "release", labelOutcome: rel.Outcome, labelManagedBy: fieldManager,
			},
		},
		Type: releaseSecretType,
		Data: map[string][]byte{"release.json": meta, "manifests.json": manifests},
	}, nil
}

// decodeRecord reads a release and its objects back from its Secret.
func decodeRecord(sec *corev1.Secret) (Release, error) {
	var rel Release
	if err := json.Unmarshal(sec.Data["release.json"], &rel); err != nil {
		return rel, fmt.Errorf("reading release record %s: %w", sec.Name, err)
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
