package kube

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ReleaseImage is one image a release runs, and where.
type ReleaseImage struct {
	Image string
	// Object is the kind and name that runs it, e.g. "CronJob report".
	Object string
	// Container is the container's name; Init marks an init container
	// (and an ephemeral one).
	Container string
	Init      bool
}

func (i ReleaseImage) where() string {
	kind := "container"
	if i.Init {
		kind = "init container"
	}
	return fmt.Sprintf("%s, %s %s", i.Object, kind, i.Container)
}

// podSpecPaths are where each workload kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// Images lists every image a release of s runs: every container, init
// container and ephemeral container of every workload (Deployments,
// StatefulSets, DaemonSets, Jobs, CronJobs, Pods…), in the generated
// objects or the user's manifests after kustomize, with the app's image
// pinned as Deploy pins it. A policy check that covers this list covers
// everything the release can start.
func Images(s Spec) ([]ReleaseImage, error) {
	s = s.withDefaults()
	objs, err := objects(s, "images")
	if err != nil {
		return nil, err
	}
	return imagesOf(objs), nil
}

func imagesOf(objs []*unstructured.Unstructured) []ReleaseImage {
	var out []ReleaseImage
	for _, o := range objs {
		p, ok := podSpecPaths[o.GetKind()]
		if !ok {
			continue
		}
		for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, append(append([]string(nil), p...), field)...)
			for _, c := range cs {
				m, _ := c.(map[string]any)
				img, _ := m["image"].(string)
				n, _ := m["name"].(string)
				out = append(out, ReleaseImage{Image: img, Object: o.GetKind() + " " + o.GetName(), Container: n, Init: field != "containers"})
			}
		}
	}
	return out
}

// checkPinned refuses an image not pinned by digest: under a policy, a
// tag could move after the image was verified.
func checkPinned(imgs []ReleaseImage) error {
	for _, i := range imgs {
		if !strings.Contains(i.Image, "@sha256:") {
			return &UnpinnedImageError{Image: i.Image, Object: i.where()}
		}
		if _, err := name.NewDigest(i.Image); err != nil {
			return &UnpinnedImageError{Image: i.Image, Object: i.where()}
		}
	}
	return nil
}
