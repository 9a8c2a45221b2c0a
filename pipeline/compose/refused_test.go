package compose

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// A refused deploy sends no command to the server: against a real sshd,
// the app dir (which the preflight's first command would create) is never
// made, for either strategy, and nothing else appears in the deploy
// user's app root.
func TestRefusedDeployRunsNothingOnTheServer(t *testing.T) {
	t.Parallel()
	w := &world{srv: testworld.StartSSHD(t)}
	image := "127.0.0.1:5000/goship/hello@sha256:" + strings.Repeat("a", 64)
	for _, tt := range []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"publish port out of range", func(s *Spec) { s.Publish = "70000:8080" }, "out of range"},
		{"blue-green publish out of range", func(s *Spec) { s.Strategy, s.Publish = StrategyBlueGreen, "8080:70000" }, "out of range"},
		{"health path the gate cannot send", func(s *Spec) { s.Health.Path = "/health check" }, "no spaces"},
		{"blue-green proxy host", func(s *Spec) { s.Strategy, s.Proxy.Host = StrategyBlueGreen, "Not A Host" }, "proxy host"},
		{"ssh transfer without a tarball", func(s *Spec) { s.Transfer = host.SSH{} }, host.ErrNoTarball.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := "refused" + shortName(tt.name)
			spec := Spec{App: app, AppDir: w.srv.AppRoot + "/" + app, Image: image, Who: "test",
				Transfer: host.Registry{Host: "127.0.0.1:5000", Username: "u", Password: "p"}}
			tt.edit(&spec)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := Deploy(ctx, w.dial(t), spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if res == nil || res.Outcome != outcome.Unchanged {
				t.Fatalf("result = %+v, want outcome unchanged", res)
			}
			if _, err := os.Stat(spec.AppDir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the app dir %s exists after a refused deploy (%v): a command ran on the server", spec.AppDir, err)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(w.srv.AppRoot, "*")); len(left) > 0 {
		t.Fatalf("the app root holds %v after refused deploys only", left)
	}
}

// shortName is a test name as an app name.
func shortName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(s))[:12]
}
