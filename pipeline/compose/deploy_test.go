package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

func TestDeployUpgradeAndAutomaticRollback(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "hello")
	ctx := context.Background()

	r1, err := Deploy(ctx, c, w.spec(app, port, "v1"))
	if err != nil {
		t.Fatalf("deploy v1: %v", err)
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after v1: /version = %q", got)
	}
	r2, err := Deploy(ctx, c, w.spec(app, port, "v2"))
	if err != nil {
		t.Fatalf("deploy v2: %v", err)
	}
	if got := version(t, port); got != "v2" || r2.Previous != r1.Release {
		t.Fatalf("after v2: /version = %q, previous = %q (want %q)", got, r2.Previous, r1.Release)
	}

	_, err = Deploy(ctx, c, w.spec(app, port, "v3"))
	if err == nil {
		t.Fatal("deploy of broken v3 succeeded")
	}
	for _, want := range []string{"failed health gate", "rolled back to " + r2.Release, "last 50 log lines"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("v3 error lacks %q:\n%v", want, err)
		}
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("after failed v3: /version = %q, want v2 still serving", got)
	}

	recs, err := Releases(ctx, c, app, w.srv.AppRoot+"/"+app)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Outcome != outcome.ReleaseFailed || !recs[1].Current || recs[1].Name != r2.Release {
		t.Fatalf("releases after rollback: %+v", recs)
	}
	log, err := os.ReadFile(filepath.Join(w.srv.AppRoot, app, "deploys.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"outcome":"rolled-back"`) || strings.Count(string(log), `"outcome":"succeeded"`) != 2 {
		t.Fatalf("deploys.log does not record the attempts:\n%s", log)
	}
	// The gate passes on HTTP before Docker's first HEALTHCHECK interval;
	// Status reports Docker's view, which turns healthy shortly after.
	var st *State
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if st, err = Status(ctx, c, app, w.srv.AppRoot+"/"+app, ""); err != nil {
			t.Fatal(err)
		}
		if st.Health == "healthy" || time.Now().After(deadline) {
			break
		}
	}
	if st.Release.Name != r2.Release || st.Container != "running" || st.Health != "healthy" || !st.Matches {
		t.Fatalf("status = %+v", st)
	}

	// An explicit rollback goes back to v1, then forward again by name.
	rb, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: w.srv.AppRoot + "/" + app, Health: w.spec(app, port, "v1").Health})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := version(t, port); got != "v1" || rb.Release != r1.Release {
		t.Fatalf("after rollback: /version = %q, release %q", got, rb.Release)
	}
	if _, err := Rollback(ctx, c, RollbackSpec{App: app, AppDir: w.srv.AppRoot + "/" + app, To: r2.Release, Health: w.spec(app, port, "v1").Health}); err != nil {
		t.Fatalf("rollback to %s: %v", r2.Release, err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("after rollback by name: /version = %q", got)
	}
}

func TestFirstDeployFailureLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "first")
	spec := w.spec(app, port, "v3")
	spec.Health.Timeout = 8 * time.Second
	_, err := Deploy(context.Background(), c, spec)
	if err == nil || !strings.Contains(err.Error(), "no previous release") {
		t.Fatalf("err = %v", err)
	}
	if ids, _ := w.docker.Try(nil, "ps", "-q", "--filter", "label=com.docker.compose.project="+app); strings.TrimSpace(ids) != "" {
		t.Fatalf("a failed first deploy left containers running: %s", ids)
	}
}

func TestHostKeyProblemsAreRefusedBeforeAnyCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	other := testworld.StartSSHD(t)
	tests := []struct {
		name       string
		knownHosts []byte
		want       string
	}{
		{"mismatched key", []byte(knownhosts.Line([]string{knownhosts.Normalize(w.srv.Addr())}, other.HostKey) + "\n"), "HOST KEY MISMATCH"},
		{"unknown host", other.KnownHosts, "known_hosts has no entry for [127.0.0.1]:"},
		{"empty known_hosts", nil, "known_hosts is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := w.sshConfig()
			cfg.KnownHosts = tt.knownHosts
			_, err := sshconn.Dial(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Dial err = %v, want %q", err, tt.want)
			}
			if tt.name == "mismatched key" && !strings.Contains(err.Error(), "SHA256:") {
				t.Fatalf("mismatch error lacks the fingerprint: %v", err)
			}
		})
	}
	entries, _ := os.ReadDir(w.srv.AppRoot)
	if len(entries) != 0 {
		t.Fatalf("something was written on the server: %v", entries)
	}
}

func TestWrongKeyIsAnAuthError(t *testing.T) {
	t.Parallel()
	w := &world{srv: testworld.StartSSHD(t)}
	cfg := w.sshConfig()
	cfg.PrivateKey = testworld.NewClientKey(t)
	_, err := sshconn.Dial(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "refused the key for user") {
		t.Fatalf("err = %v", err)
	}
}

func TestSecondDeployIsRefusedWhileLocked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "lock")
	spec := w.spec(app, port, "v1")
	s := host.New(c, app, spec.AppDir, "app")
	if err := s.Preflight(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	held, err := s.Lock(context.Background(), "alice@laptop")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Deploy(context.Background(), w.dial(t), spec)
	if !errors.Is(err, host.ErrLocked) || !strings.Contains(err.Error(), "alice@laptop") {
		t.Fatalf("second deploy: err = %v, want ErrLocked naming alice@laptop", err)
	}
	owner, err := BreakLock(context.Background(), w.dial(t), app, spec.AppDir)
	if err != nil || owner.Who != "alice@laptop" {
		t.Fatalf("BreakLock = %+v, %v", owner, err)
	}
	held.Release()
	if _, err := Deploy(context.Background(), c, spec); err != nil {
		t.Fatalf("deploy after the lock was broken: %v", err)
	}
}

// cutAfterPull delivers the image, then kills the SSH connection.
type cutAfterPull struct {
	host.Registry
	client *sshconn.Client
}

func (c cutAfterPull) Deliver(ctx context.Context, s *host.App, image string) (string, error) {
	ref, err := c.Registry.Deliver(ctx, s, image)
	_ = c.client.Close()
	return ref, err
}

func TestCutConnectionAfterPullThenRerunConverges(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, port := w.app(t, "cut")
	ctx := context.Background()
	if _, err := Deploy(ctx, w.dial(t), w.spec(app, port, "v1")); err != nil {
		t.Fatal(err)
	}
	doomed := w.dial(t)
	spec := w.spec(app, port, "v2")
	spec.Transfer = cutAfterPull{Registry: spec.Transfer.(host.Registry), client: doomed}
	if _, err := Deploy(ctx, doomed, spec); err == nil {
		t.Fatal("deploy over a cut connection reported success")
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the cut: /version = %q, want v1 still serving", got)
	}
	// The lock died with the connection: a re-run goes through.
	if _, err := Deploy(ctx, w.dial(t), w.spec(app, port, "v2")); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("after re-run: /version = %q", got)
	}
}

func TestPruneKeepsCurrentAndPrevious(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.dial(t)
	app, port := w.app(t, "prune")
	for _, v := range []string{"v1", "v2", "v1", "v2"} {
		spec := w.spec(app, port, v)
		spec.Keep = 2
		if _, err := Deploy(context.Background(), c, spec); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // distinct release timestamps
	}
	entries, _ := os.ReadDir(filepath.Join(w.srv.AppRoot, app, "releases"))
	if len(entries) != 2 {
		t.Fatalf("releases after 4 deploys with keep=2: %d", len(entries))
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q", got)
	}
}
