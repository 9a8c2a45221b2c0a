package compose

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
)

const pinnedApp = "r.example/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// Images lists every service's image, the app's pinned as the release
// pins it, sidecars as the file has them.
func TestImagesListsEveryServiceOfTheRelease(t *testing.T) {
	s := Spec{App: "api", Image: pinnedApp, Compose: []byte(`services:
  app:
    image: r.example/api:latest
  cache:
    image: redis:7@sha256:2222222222222222222222222222222222222222222222222222222222222222
  worker:
    build: ./worker
`)}
	got, err := Images(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []ServiceImage{{"app", pinnedApp}, {"cache", "redis:7@sha256:2222222222222222222222222222222222222222222222222222222222222222"}, {"worker", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Images = %+v\nwant %+v", got, want)
	}
	// A generated compose file runs the app's image alone.
	if got, err := Images(Spec{App: "api", Image: pinnedApp}); err != nil || !reflect.DeepEqual(got, []ServiceImage{{"app", pinnedApp}}) {
		t.Fatalf("generated: %+v, %v", got, err)
	}
}

// Under a signing policy every image must be pinned by digest: a sidecar
// by tag, a service that builds, or the app by tag is refused by
// Validate (before anything connects), naming the service.
func TestAVerifiedReleaseRunsOnlyPinnedImages(t *testing.T) {
	mark := &PolicyMark{Name: ".goship/policy.yaml", Digest: "sha256:abc"}
	base := Spec{App: "api", Image: pinnedApp, Transfer: host.Registry{}, Verified: mark}
	if err := base.Validate(); err != nil {
		t.Fatalf("a pinned app alone: %v", err)
	}
	for _, tt := range []struct {
		name, service string
		edit          func(*Spec)
	}{
		{"sidecar by tag", "cache", func(s *Spec) {
			s.Compose = []byte("services:\n  app:\n    image: x\n  cache:\n    image: redis:7\n")
		}},
		{"a service that builds", "worker", func(s *Spec) {
			s.Compose = []byte("services:\n  app:\n    image: x\n  worker:\n    build: .\n")
		}},
		{"the app by tag", "app", func(s *Spec) { s.Image = "r.example/api:v2" }},
		{"sent over ssh", "app", func(s *Spec) { s.Image, s.Transfer = "", host.SSH{} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := base
			tt.edit(&s)
			var unpinned *UnpinnedError
			if err := s.Validate(); !errors.As(err, &unpinned) || unpinned.Service != tt.service {
				t.Fatalf("err = %v, want an UnpinnedError for service %q", err, tt.service)
			}
		})
	}
	// Without a policy, tags are the user's business.
	free := base
	free.Verified, free.Image = nil, "r.example/api:v2"
	if err := free.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Once a verified release is live, the app holds the policy: an
// unverified deploy or rollback is refused before anything changes, an
// explicit opt-out runs and is logged, and the policy stays held.
func TestAHostRemembersItsSigningPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "pol")
	ctx := context.Background()
	dir := w.srv.AppRoot + "/" + app
	mark := &PolicyMark{Name: ".goship/policy.yaml", Digest: "sha256:" + strings.Repeat("c", 64)}

	v1 := w.spec(app, port, "v1")
	v1.Verified = mark
	r1, err := Deploy(ctx, c, v1)
	if err != nil {
		t.Fatalf("verified v1: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "policy.json"))
	if err != nil {
		t.Fatalf("the verified release left no policy.json: %v", err)
	}
	var held HeldPolicy
	if err := json.Unmarshal(data, &held); err != nil || held.PolicyMark != *mark || held.Release != r1.Release || held.Who != "test@goship" {
		t.Fatalf("policy.json = %s (%v)", data, err)
	}

	releases := func() int {
		entries, _ := os.ReadDir(filepath.Join(dir, "releases"))
		return len(entries)
	}
	before := releases()
	var pe *PolicyError
	res, err := Deploy(ctx, c, w.spec(app, port, "v2"))
	if !errors.As(err, &pe) || pe.Held.PolicyMark != *mark || pe.Verb != "deploy" || !strings.Contains(err.Error(), ".goship/policy.yaml") {
		t.Fatalf("unverified v2: %v, want a PolicyError naming the policy", err)
	}
	if res.Outcome != outcome.Unchanged || releases() != before || version(t, port) != "v1" {
		t.Fatalf("the refused deploy changed something: %+v, %d releases (were %d), /version %q", res, releases(), before, version(t, port))
	}

	v2 := w.spec(app, port, "v2")
	v2.Unverified = "test: an unsigned hotfix"
	if _, err := Deploy(ctx, c, v2); err != nil {
		t.Fatalf("unverified v2, opted out: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q", got)
	}
	log, err := os.ReadFile(filepath.Join(dir, "deploys.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"event":"unverified-deploy"`) || !strings.Contains(string(log), ".goship/policy.yaml") ||
		!strings.Contains(string(log), "because: test: an unsigned hotfix") {
		t.Fatalf("deploys.log does not record the opt-out:\n%s", log)
	}

	// The opt-out lifted the refusal for that run only.
	rb := RollbackSpec{App: app, AppDir: dir, Who: "test", Health: v1.Health}
	if _, err := Rollback(ctx, c, rb); !errors.As(err, &pe) || pe.Verb != "rollback" {
		t.Fatalf("unverified rollback: %v, want a PolicyError", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("the refused rollback changed what serves: %q", got)
	}
	rb.Verified = mark
	rb.Verify = func(context.Context, string) error { return nil }
	if _, err := Rollback(ctx, c, rb); err != nil {
		t.Fatalf("verified rollback: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the verified rollback: /version = %q", got)
	}
}
