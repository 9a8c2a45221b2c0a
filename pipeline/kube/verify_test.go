package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
)

// A rollback whose Verify hook refuses the target (here: v1 is not
// signed by the key) applies nothing: the current release stays current
// and serves. Real signature checks against the cluster's registry.
func TestClusterRollbackVerifiesTheTarget(t *testing.T) {
	w := clusterWorld(t)
	imgs := w.images(t)
	c := w.connect(t)
	ctx := context.Background()
	deployOK(t, c, w.spec(imgs["v1"], "v1"))
	deployOK(t, c, w.spec(imgs["v2"], "v2"))
	before, err := c.Releases(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := sign.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	opts := sign.VerifyOptions{Keys: []*sign.PublicKey{pub}, Registry: []registry.Option{registry.WithTrust(registry.Trust{PlainHTTP: []string{w.registry}})}}
	var asked []string
	res, err := c.Rollback(ctx, RollbackSpec{App: "hello", Settle: 3 * time.Second, Verify: func(ctx context.Context, image string) error {
		asked = append(asked, image)
		_, err := sign.Verify(ctx, image, opts)
		return err
	}})
	var refused *sign.VerifyError
	if !errors.As(err, &refused) || refused.Kind != sign.KindNoSignature || res.Outcome != "unchanged" {
		t.Fatalf("rollback to unsigned v1: outcome %s, err %v; want unchanged, no signature", res.Outcome, err)
	}
	if len(asked) != 1 || asked[0] != imgs["v1"].String() || !strings.Contains(err.Error(), imgs["v1"].DigestStr()) {
		t.Fatalf("Verify asked about %v, error %v: want v1's image, named in the error", asked, err)
	}
	after, err := c.Releases(ctx, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if FormatReleases(after) != FormatReleases(before) {
		t.Fatalf("releases changed by a refused rollback:\nbefore:\n%s\nafter:\n%s", FormatReleases(before), FormatReleases(after))
	}
	if v := servedVersion(t, w.serviceURL(t, "/version")); !strings.Contains(v, "v2") {
		t.Fatalf("after the refused rollback the Service answers %q, want v2", v)
	}
}
