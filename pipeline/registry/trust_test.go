package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// A registry behind a private CA: the credential check, the push of an
// OCI layout under several tags and the verification all work once the
// CA is trusted, and the push fails with a certificate error before.
func TestPushLayoutToRegistryBehindPrivateCA(t *testing.T) {
	ctx := context.Background()
	reg := testworld.StartRegistry(t, testworld.WithTLS())
	creds := registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: reg.Password})
	trust := registry.WithTrust(registry.Trust{CAPEM: reg.CAPEM})

	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img := testworld.HelloImage(t, "v1", false)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	host, err := registry.ParseHost(reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := registry.NewRepository(host, "goship", "hello")
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"20260101000000-c0ffee01", "latest"}

	if _, err := registry.PushLayout(ctx, dir, repo.String(), tags, creds); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("push without the CA: err = %v, want a certificate error", err)
	}
	wrong := registry.WithCredentials(registry.Credentials{Username: reg.Username, Password: "nope"})
	if err := registry.CheckCredentials(ctx, repo, wrong, trust); !errors.Is(err, registry.ErrCredentialsRefused) {
		t.Fatalf("CheckCredentials with a wrong password over TLS = %v, want ErrCredentialsRefused", err)
	}
	if err := registry.CheckCredentials(ctx, repo, creds, trust); err != nil {
		t.Fatal(err)
	}
	digest, err := registry.PushLayout(ctx, dir, repo.String(), tags, creds, trust)
	if err != nil {
		t.Fatal(err)
	}
	if digest != want.String() {
		t.Fatalf("pushed %s, want %s", digest, want)
	}
	ref, err := registry.Verify(ctx, repo.String(), digest, tags, creds, trust)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(ref, "@"+digest) {
		t.Fatalf("Verify = %q", ref)
	}
}

func TestTrustValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trust registry.Trust
		want  string
	}{
		{"ok", registry.Trust{PlainHTTP: []string{"registry.internal:5000"}}, ""},
		{"acr over http", registry.Trust{PlainHTTP: []string{"registry.cn-hangzhou.aliyuncs.com"}}, "ACR serves only HTTPS"},
		{"bad host", registry.Trust{PlainHTTP: []string{"http://registry.internal"}}, "drop the scheme"},
		{"no pem", registry.Trust{CAPEM: []byte("not a certificate")}, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.trust.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
