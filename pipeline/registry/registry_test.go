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

	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/testworld"
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

func TestCopyKeepsDigestAcrossRegistries(t *testing.T) {
	ctx := context.Background()
	src, dst := testworld.StartRegistry(t), testworld.StartRegistry(t)
	ref := src.Push(t, testworld.HelloImage(t, "v1", false), "goship/hello:v1")
	srcCreds := registry.WithSourceCredentials(registry.Credentials{Username: src.Username, Password: src.Password})
	dstCreds := registry.WithCredentials(registry.Credentials{Username: dst.Username, Password: dst.Password})
	// The tag is kept in the source reference, as pinned defaults are written.
	from := src.Host + "/goship/hello:v1@" + ref.DigestStr()
	to := dst.Host + "/mirror/hello:v1"
	if err := registry.Copy(ctx, from, to, srcCreds); err == nil {
		t.Fatal("copy without destination credentials succeeded")
	}
	if err := registry.Copy(ctx, from, to, dstCreds); err == nil {
		t.Fatal("copy without source credentials succeeded")
	}
	if err := registry.Copy(ctx, from, to, srcCreds, dstCreds); err != nil {
		t.Fatal(err)
	}
	d, err := registry.Digest(ctx, to, dstCreds)
	if err != nil || d.String() != ref.DigestStr() {
		t.Fatalf("copied digest = %v (%v), want %s", d, err, ref.DigestStr())
	}
	// A source that serves another manifest than the pin is refused.
	wrong := src.Host + "/goship/hello@sha256:" + strings.Repeat("0", 64)
	if err := registry.Copy(ctx, wrong, to, srcCreds, dstCreds); err == nil {
		t.Fatal("copy of a digest the source does not have succeeded")
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
