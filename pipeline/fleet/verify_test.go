package fleet

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/sign"
	"github.com/goship-dev/goship/pipeline/sign/signtest"
)

// A fleet rolled back with a Verify hook refuses a target whose image is
// not signed, before any host changes; once that image is signed (with a
// passed gate), the same rollback goes through. Real signatures in the
// world's registry, real hosts.
func TestRollbackVerifiesTheTarget(t *testing.T) {
	w := newWorld(t)
	hs, cfgs := w.hosts(t, 2)
	w.deployAll(t, hs, cfgs, "v1")
	w.deployAll(t, hs, cfgs, "v2")

	opts := []registry.Option{
		registry.WithCredentials(registry.Credentials{Username: w.reg.Username, Password: w.reg.Password}),
		registry.WithTrust(registry.Trust{PlainHTTP: []string{w.reg.Host}}),
	}
	key := signtest.NewKey(t)
	// Signed after a passing ci, as publish --sign-key signs.
	signed := func(t *testing.T, version string) {
		t.Helper()
		ref := w.releases[version]
		pushed := signtest.Pushed{Ref: ref, Platforms: map[string]string{"linux/amd64": ref.DigestStr()}}
		if _, err := sign.Sign(context.Background(), ref.String(), key, signtest.Evidence(t, pushed, time.Now()), sign.Options{Registry: opts}); err != nil {
			t.Fatal(err)
		}
	}
	signed(t, "v2")

	var asked []string
	spec := func(i int) compose.RollbackSpec {
		return compose.RollbackSpec{
			App: hs[i].app, AppDir: hs[i].srv.AppRoot + "/" + hs[i].app, Who: "test@goship",
			Health: host.Health{Timeout: 20 * time.Second, Interval: 250 * time.Millisecond, Settle: time.Second},
			Verify: func(ctx context.Context, image string) error {
				asked = append(asked, image)
				_, err := sign.Verify(ctx, image, sign.VerifyOptions{Keys: []*sign.PublicKey{key.PublicKey()},
					Require: []string{sign.ProvenancePredicateType}, Registry: opts})
				return err
			},
		}
	}
	before := []int{releaseCount(t, hs[0]), releaseCount(t, hs[1])}
	for i := range hs {
		rep, err := Rollback(context.Background(), cfgs[i:i+1], spec(i))
		var refused *sign.VerifyError
		if !errors.As(err, &refused) || refused.Kind != sign.KindNoSignature {
			t.Fatalf("host %d: rollback to unsigned v1: err %v, want no signature", i+1, err)
		}
		if !strings.Contains(err.Error(), w.releases["v1"].DigestStr()) || !strings.Contains(err.Error(), "nothing changed") {
			t.Errorf("host %d: the refusal should name the digest and that nothing changed: %v", i+1, err)
		}
		if h := reportByHost(t, rep, cfgs[i]); h.Outcome != outcome.Unchanged {
			t.Errorf("host %d: outcome %q, want unchanged", i+1, h.Outcome)
		}
	}
	wantVersions(t, hs, "v2")
	for i, h := range hs {
		if got := releaseCount(t, h); got != before[i] {
			t.Errorf("host %d: %d releases after the refusal, want %d", i+1, got, before[i])
		}
		if log := h.srv.Exec(t, "sh", "-c", "cat "+h.srv.AppRoot+"/"+h.app+"/deploys.log"); strings.Contains(log, `"rollback"`) {
			t.Errorf("host %d: a refused rollback was logged as run:\n%s", i+1, log)
		}
	}
	if len(asked) != 2 || asked[0] != w.releases["v1"].String() {
		t.Fatalf("Verify was asked about %v, want v1's image once per host", asked)
	}

	// Each host has its own app name here (they share one dockerd), so
	// each is rolled back on its own.
	signed(t, "v1")
	for i := range hs {
		if _, err := Rollback(context.Background(), cfgs[i:i+1], spec(i)); err != nil {
			t.Fatalf("host %d: rollback to signed v1: %v", i+1, err)
		}
	}
	wantVersions(t, hs, "v1")
}
