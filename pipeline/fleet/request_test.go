package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/deploy"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// Plan checks the whole request, for every strategy, before any host is
// dialed (the hosts here do not exist).
func TestRequestPlanChecksEverythingUpFront(t *testing.T) {
	hosts := []sshconn.Config{{Host: "203.0.113.9", Port: 22, User: "deploy"}}
	good := Request{Spec: deploy.Spec{App: "api", Image: "r.example/api@sha256:" + strings.Repeat("a", 64)}, Transfer: "registry"}
	for _, tt := range []struct {
		name    string
		edit    func(*Request)
		wantErr string
	}{
		{"ok", func(*Request) {}, ""},
		{"port out of range", func(r *Request) { r.Spec.Publish = "70000:8080" }, "out of range"},
		{"blue-green port out of range", func(r *Request) { r.Strategy, r.Spec.Publish = "blue-green", "8080:70000" }, "out of range"},
		{"bad strategy", func(r *Request) { r.Strategy = "canary" }, "unknown deploy strategy"},
		{"bad transfer", func(r *Request) { r.Transfer = "ftp" }, "unknown transfer"},
		{"bad duration", func(r *Request) { r.HealthTimeout = "soon" }, "--health-timeout"},
		{"proxy flags on recreate", func(r *Request) { r.Strategy, r.ProxyHost = "recreate", "api.example.com" }, "need --strategy=blue-green"},
		{"registry without image", func(r *Request) { r.Spec.Image = "" }, "--image is required"},
		{"bad app", func(r *Request) { r.Spec.App = "API" }, "app name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			_, closeAll, err := r.Plan(hosts)
			closeAll()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRequestPlanFillsTheRollout(t *testing.T) {
	r := Request{Spec: deploy.Spec{App: "api", Version: "v1.2.3+meta"}, Transfer: "ssh", Canary: "2m", Parallel: 3, HealthSettle: "3s"}
	plan, closeAll, err := r.Plan([]sshconn.Config{{Host: "203.0.113.9", Port: 22, User: "deploy"}})
	defer closeAll()
	if err != nil {
		t.Fatal(err)
	}
	if plan.Canary == nil || plan.Canary.Pause != 2*time.Minute || plan.Parallel != 3 || plan.Spec.Health.Settle != 3*time.Second {
		t.Fatalf("plan = %+v", plan)
	}
	if plan.Spec.Image != "goship.local/api:v1.2.3_meta" || plan.ForHost == nil {
		t.Fatalf("ssh transfer: image %q, per-host tarball %v", plan.Spec.Image, plan.ForHost != nil)
	}
}
