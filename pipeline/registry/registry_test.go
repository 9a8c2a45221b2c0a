package registry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/goship-dev/goship/internal/testworld"
	"github.com/goship-dev/goship/pipeline/registry"
)

func TestPushVerifyRetagList(t *testing.T) {
	ctx := context.Background()
	reg := testworld.StartRegistry(t)
	creds := registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: reg.Password})
	ref := reg.Push(t, testworld.HelloImage(t, "v1", false), "goship/hello:20260101000000-c0ffee01")
	repo := reg.Host + "/goship/hello"

	if err := registry.Tag(ctx, ref.String(), "git-c0ffee0", creds); err != nil {
		t.Fatal(err)
	}
	if err := registry.Tag(ctx, ref.String(), "latest", creds); err != nil {
		t.Fatal(err)
	}
	tags, err := registry.ListTags(ctx, repo, creds)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if want := []string{"20260101000000-c0ffee01", "git-c0ffee0", "latest"}; !slices.Equal(tags, want) {
		t.Fatalf("tags = %v, want %v", tags, want)
	}

	got, err := registry.Verify(ctx, repo, ref.DigestStr(), tags, creds)
	if err != nil {
		t.Fatal(err)
	}
	if got != ref.String() {
		t.Fatalf("Verify = %q, want %q", got, ref)
	}
	d, err := registry.Digest(ctx, repo+":latest", creds)
	if err != nil || d.String() != ref.DigestStr() {
		t.Fatalf("Digest(latest) = %v, %v; want %s", d, err, ref.DigestStr())
	}

	// A tag moved by someone else is caught.
	other := reg.Push(t, testworld.HelloImage(t, "v2", false), "goship/hello:latest")
	if _, err := registry.Verify(ctx, repo, ref.DigestStr(), []string{"latest"}, creds); err == nil || !strings.Contains(err.Error(), other.DigestStr()) {
		t.Fatalf("Verify with a moved tag: err = %v", err)
	}
	// Without credentials nothing is readable.
	if _, err := registry.ListTags(ctx, repo); err == nil {
		t.Fatal("anonymous ListTags succeeded against an authenticated registry")
	}
}

func TestVerifyRejectsImageWithoutLabels(t *testing.T) {
	ctx := context.Background()
	reg := testworld.StartRegistry(t)
	bare := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	ref := reg.Push(t, bare, "goship/bare:v1")
	_, err := registry.Verify(ctx, reg.Host+"/goship/bare", ref.DigestStr(), []string{"v1"},
		registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: reg.Password}))
	if err == nil || !strings.Contains(err.Error(), "org.opencontainers.image.revision") {
		t.Fatalf("Verify of an unlabelled image: err = %v", err)
	}
}

func TestCopyKeepsDigest(t *testing.T) {
	ctx := context.Background()
	src, dst := testworld.StartRegistry(t), testworld.StartRegistry(t)
	ref := src.Push(t, testworld.HelloImage(t, "v1", false), "goship/hello:v1")
	// One credential set cannot serve two registries with different users;
	// copying between them is what a mirror sync does with a keychain. Here
	// the mirror is written first with its own credentials.
	if err := registry.Copy(ctx, ref.String(), dst.Host+"/mirror/hello:v1", registry.WithCredentials(registry.Credentials{Username: src.Username, Password: src.Password})); err == nil {
		t.Fatal("copy to a registry that refuses the credentials succeeded")
	}
	if err := registry.Copy(ctx, ref.String(), src.Host+"/mirror/hello:v1", registry.WithCredentials(registry.Credentials{Username: src.Username, Password: src.Password})); err != nil {
		t.Fatal(err)
	}
	d, err := registry.Digest(ctx, src.Host+"/mirror/hello:v1", registry.WithCredentials(registry.Credentials{Username: src.Username, Password: src.Password}))
	if err != nil || d.String() != ref.DigestStr() {
		t.Fatalf("copied digest = %v (%v), want %s", d, err, ref.DigestStr())
	}
}

func TestCheckCredentials(t *testing.T) {
	reg := testworld.StartRegistry(t)
	host, _ := registry.ParseHost(reg.Host)
	repo, err := registry.NewRepository(host, "goship", "hello")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name  string
		creds registry.Credentials
		want  error
		msg   string
	}{
		{"right", registry.Credentials{Username: reg.Username, Password: reg.Password}, nil, ""},
		{"wrong password", registry.Credentials{Username: reg.Username, Password: "wrong-pass-123"}, registry.ErrCredentialsRefused, "goship@" + reg.Host},
		{"unknown user", registry.Credentials{Username: "mallory", Password: reg.Password}, registry.ErrCredentialsRefused, "mallory@"},
		{"expired temp token", registry.Credentials{Username: registry.ACRTempUser, Password: "expired-token"}, registry.ErrCredentialsRefused, "expire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := registry.CheckCredentials(ctx, repo, registry.WithCredentials(tt.creds))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err %q lacks %q", err, tt.msg)
				}
				if strings.Contains(err.Error(), tt.creds.Password) {
					t.Fatal("password in error")
				}
			}
			if time.Since(start) > 5*time.Second {
				t.Fatal("credential check is not fast")
			}
		})
	}
	// A registry that is not there is a different error.
	gone, _ := registry.ParseHost("127.0.0.1:1")
	repoGone, _ := registry.NewRepository(gone, "goship", "hello")
	err = registry.CheckCredentials(ctx, repoGone, registry.WithCredentials(registry.Credentials{Username: "u", Password: "p"}))
	if err == nil || errors.Is(err, registry.ErrCredentialsRefused) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("unreachable registry: err = %v", err)
	}
}
