package main

import (
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/job"
)

// The deployment chain needs no engine: each With… records its settings
// in the job the runner takes, and the first bad flag is kept for run.
func TestDeploymentChainRecordsSettings(t *testing.T) {
	s := &Server{Host: []string{"web1"}}
	d := s.Deployment("reg.example.com/app@sha256:"+strings.Repeat("a", 64), "", nil, false, nil, "127.0.0.1:8080:8080", 3, "", nil).
		WithBlueGreen("10s").
		WithProxy("app.example.com", "caddy:2", "/srv/proxy", "90s", nil, nil, -1).
		WithHealth("/ready", 0, "2m", "7s").
		WithRollout(2, "1m").
		WithTimeouts("30s", "5m", "").
		WithMigration("migrate up", "")
	if d.Invalid != "" {
		t.Fatalf("a valid chain was refused: %s", d.Invalid)
	}
	if d.target() != target(s) {
		t.Fatalf("the deployment's target is %v, want the server", d.target())
	}
	spec := d.spec()
	c := spec.Compose
	switch {
	case spec.Strategy != "blue-green" || spec.Drain.Std() != 10*time.Second:
		t.Errorf("blue-green: strategy %q drain %v", spec.Strategy, spec.Drain.Std())
	case c == nil || c.Proxy == nil || c.Proxy.Host != "app.example.com" || c.Proxy.SwitchTimeout.Std() != 90*time.Second || c.Proxy.TLSRedirectFrom != -1:
		t.Errorf("proxy settings: %+v", c)
	case spec.Health.Path != "/ready" || spec.Health.Timeout.Std() != 2*time.Minute || spec.Health.Settle.Std() != 7*time.Second:
		t.Errorf("health: %+v", spec.Health)
	case c.Parallel != 2 || c.Canary.Std() != time.Minute:
		t.Errorf("rollout: parallel %d canary %v", c.Parallel, c.Canary.Std())
	case spec.LockWait.Std() != 30*time.Second || c.PullTimeout.Std() != 5*time.Minute || c.UpTimeout != 0:
		t.Errorf("timeouts: lock %v pull %v up %v", spec.LockWait.Std(), c.PullTimeout.Std(), c.UpTimeout.Std())
	case c.Migrate != "migrate up" || c.Publish != "127.0.0.1:8080:8080" || spec.Keep != 3:
		t.Errorf("compose: %+v keep %d", c, spec.Keep)
	}
}

func TestDeploymentKeepsTheFirstBadFlag(t *testing.T) {
	d := (&Server{}).Deployment("", "ssh", nil, false, nil, "", 0, "", nil).
		WithHealth("", 0, "soon", "").
		WithBlueGreen("-5s")
	if !strings.Contains(d.Invalid, `--timeout "soon"`) {
		t.Fatalf("Invalid = %q, want the first bad flag (--timeout)", d.Invalid)
	}
	if _, _, err := d.job(t.Context()); err == nil || !strings.Contains(err.Error(), "--timeout") {
		t.Fatalf("job() = %v, want the flag error before anything is built", err)
	}
	if d := (&Server{}).Deployment("", "", nil, false, nil, "", 0, "", nil).WithBlueGreen("-5s"); !strings.Contains(d.Invalid, "--drain") {
		t.Fatalf("a negative drain: Invalid = %q", d.Invalid)
	}
	if d := (&Cluster{}).Deployment("", nil, nil, "", 0, 0, "", nil).WithUnverified(""); !strings.Contains(d.Invalid, "reason") {
		t.Fatalf("with-unverified without a reason: Invalid = %q", d.Invalid)
	}
}

// A cluster's lock wait is a shared setting: it must not make the
// server-only compose settings appear, which the runner would refuse.
func TestClusterDeploymentStaysClusterShaped(t *testing.T) {
	c := &Cluster{Namespace: "shop"}
	d := c.Deployment("r/app@sha256:"+strings.Repeat("b", 64), nil, nil, "", 3, 0, "", nil).
		WithTimeouts("2m", "", "").
		WithResources("100m", "", "64Mi", "").
		WithIngress("shop.example.com", "alb", "shop-tls", "").
		WithoutDisruptionBudget()
	spec := d.spec()
	if spec.Compose != nil {
		t.Fatalf("a cluster deployment carries compose settings: %+v", spec.Compose)
	}
	k := spec.Kube
	if d.target() != target(c) || k == nil || k.Replicas != 3 || k.CPURequest != "100m" || k.MemoryRequest != "64Mi" ||
		k.Ingress == nil || k.Ingress.Class != "alb" || !k.NoDisruptionBudget || spec.LockWait.Std() != 2*time.Minute {
		t.Fatalf("cluster settings: %+v, lock %v", k, spec.LockWait.Std())
	}
}

func TestMountsGiveEachItsOwnPath(t *testing.T) {
	m := &mounts{}
	if p := m.secret("key", nil); p != "" {
		t.Fatalf("no secret mounted at %q", p)
	}
	a, b := m.path("secrets", "key", 0), m.path("secrets", "key", 1)
	if a == b {
		t.Fatalf("two secrets of one name share %s", a)
	}
}

func TestScanNamesPerPlatform(t *testing.T) {
	if scanStep("linux/amd64", 1) != "scan" || scanDir("linux/amd64", 1) != "scan" {
		t.Fatal("one platform keeps ci's step and directory names")
	}
	if scanStep("linux/arm64", 2) != "scan linux/arm64" || scanDir("linux/arm64", 2) != "scan/linux-arm64" {
		t.Fatalf("several platforms: %q %q", scanStep("linux/arm64", 2), scanDir("linux/arm64", 2))
	}
}

func TestDurationsOneRule(t *testing.T) {
	var d job.Duration
	for _, bad := range []string{"-1s", "5", "soon"} {
		if err := durations(durationFlag{"drain", bad, &d}); err == nil || !strings.Contains(err.Error(), "--drain") {
			t.Errorf("%q: %v, want a refusal naming --drain", bad, err)
		}
	}
	if err := durations(durationFlag{"drain", "", &d}); err != nil || d != 0 {
		t.Errorf("empty: %v %v, want not given", err, d)
	}
}
