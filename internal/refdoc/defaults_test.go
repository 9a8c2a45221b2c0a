package refdoc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/fleet"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/kube"
	"github.com/goship-dev/goship/pipeline/ops"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// Each default is declared once, in the package that owns it; the module
// passes "not given" and the owner applies it. The doc line --help shows
// must say the same value: this test reads both. (It lives here, not in
// the module's package, so that the module's own tests import nothing
// heavy: the engine's go mod tidy walks them on every cold load.)
func TestDocLinesStateTheOwnersDefaults(t *testing.T) {
	fns, err := Read("../..")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, f := range fns {
		for _, a := range f.Args {
			docs[f.Object+"."+f.Name+" "+a.Name] = a.Doc
		}
	}
	tests := []struct{ arg, want string }{
		{"goship.(constructor) --port", fmt.Sprint("default ", project.DefaultPort)},
		{"goship.(constructor) --policy", "default " + project.DefaultPolicyFile},
		{"goship.server --user", "default " + fleet.DefaultUser},
		{"goship.server --service", "default " + host.DefaultService},
		{"Server.deployment --keep", fmt.Sprint("default ", compose.DefaultKeep)},
		{"Cluster.deployment --keep", fmt.Sprint("default ", kube.DefaultKeep)},
		{"Cluster.deployment --replicas", fmt.Sprint("default ", kube.DefaultReplicas)},
		{"Deployment.with-health --path", "default " + project.DefaultHealthPath},
		{"Deployment.with-health --timeout", "default " + human(host.DefaultHealthTimeout) + " on servers, " + human(kube.DefaultTimeout) + " on a cluster"},
		{"Deployment.with-health --settle", "default " + human(host.DefaultSettle) + " on servers, " + human(kube.DefaultSettle) + " on a cluster"},
		{"Deployment.with-blue-green --drain", "default " + human(compose.DefaultDrain) + " on servers, " + human(kube.DefaultDrain) + " on a cluster"},
		{"Deployment.with-timeouts --pull", "default " + human(host.DefaultPullTimeout)},
		{"Deployment.with-timeouts --up", "default " + human(host.DefaultUpTimeout)},
		{"Deployment.with-proxy --switch-timeout", "default " + human(host.DefaultSwitchTimeout)},
		{"Deployment.with-proxy --tls-redirect-from", fmt.Sprint("default ", proxy.DefaultRedirectFrom)},
		{"Deployment.with-migration --timeout", "default " + human(host.DefaultMigrateTimeout)},
		{"Server.rollback --health-timeout", "default " + human(host.DefaultHealthTimeout)},
		{"Server.rollback --health-settle", "default " + human(host.DefaultSettle)},
		{"Cluster.rollback --health-timeout", "default " + human(kube.DefaultTimeout)},
		{"Cluster.rollback --health-settle", "default " + human(kube.DefaultSettle)},
		{"Server.logs --tail", fmt.Sprint("default ", ops.DefaultTail)},
		{"Server.logs --follow-for", "default " + human(ops.DefaultFollowFor)},
		{"Server.exec --timeout", "default " + human(ops.DefaultExecTimeout)},
		{"Maintenance.on --retry-after", "default " + human(proxy.DefaultRetryAfter)},
	}
	for _, tt := range tests {
		doc, ok := docs[tt.arg]
		if !ok {
			t.Errorf("%s: no such argument in the module", tt.arg)
			continue
		}
		if !strings.Contains(doc, tt.want) {
			t.Errorf("%s: its doc line %q does not say %q (the owner's default)", tt.arg, doc, tt.want)
		}
	}
}

// human writes a default as the doc lines do: 60s, 90s, 2m, 10m.
func human(d time.Duration) string {
	if d >= 2*time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
