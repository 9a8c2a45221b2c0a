package release

import (
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// A release tag with build metadata keeps its full version, and its image
// tag is one a real registry and the SSH transfer's reference accept.
func TestBuildMetadataVersionMakesValidTags(t *testing.T) {
	c := Context{SHA: "0123456789abcdef", Ref: "refs/tags/v1.2.3+build.5", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	version := c.Version()
	if version != "1.2.3+build.5" {
		t.Fatalf("Version = %q, want the full semver", version)
	}
	tag := TagSafe(version)
	if tag != "1.2.3_build.5" {
		t.Fatalf("TagSafe(%q) = %q", version, tag)
	}
	if _, err := name.NewTag("goship.local/app:"+tag, name.StrictValidation); err != nil {
		t.Fatalf("ssh transfer reference: %v", err)
	}

	reg := testworld.StartRegistry(t)
	tags, err := Tags(c, DefaultSets())
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		ref, err := name.NewTag(reg.Host+"/goship/app:"+tag, name.StrictValidation)
		if err != nil {
			t.Fatalf("tag %q: %v", tag, err)
		}
		if err := remote.Write(ref, img, reg.RemoteOptions()...); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
	}
	repo, _ := name.NewRepository(reg.Host + "/goship/app")
	listed, err := remote.List(repo, reg.RemoteOptions()...)
	if err != nil || len(listed) != len(tags) {
		t.Fatalf("registry lists %v (%v), want %v", listed, err, tags)
	}
}
