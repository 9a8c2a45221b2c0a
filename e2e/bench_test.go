//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/goship-dev/goship/internal/testworld"
)

// BenchmarkCi measures issue #5's targets in one run (needs an engine):
//
//	go test -tags e2e -run '^$' -bench Ci -benchtime 1x ./e2e/
//
// warm-ci-s: a second ci with no source change (target: under 3 s, every
// step a cache hit). one-file-ratio: ci after a one-file change divided by
// the host-native `go vet ./... && go test -race ./... && go build` of the
// same tree (target: at most 1.5).
func BenchmarkCi(b *testing.B) {
	root := testworld.RepoRoot(b)
	src := filepath.Join(b.TempDir(), "hello")
	if out, err := exec.Command("cp", "-r", filepath.Join(root, "examples/hello-service"), src).CombinedOutput(); err != nil {
		b.Fatalf("copy: %v %s", err, out)
	}
	ci := func() time.Duration {
		start := time.Now()
		cmd := exec.Command("dagger", "call", "-m", root, "--source="+src, "ci")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("dagger call ci: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	native := func() time.Duration {
		start := time.Now()
		cmd := exec.Command("sh", "-c", "go vet ./... && go test -race ./... && go build ./...")
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("native: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	touch := func() {
		f := filepath.Join(src, "internal/server/server.go")
		data, _ := os.ReadFile(f)
		_ = os.WriteFile(f, append(data, []byte("\n// edit "+time.Now().String()+"\n")...), 0o644)
	}
	ci() // cold
	var warm, changed, host time.Duration
	for i := 0; i < b.N; i++ {
		warm += ci()
		touch()
		changed += ci()
		touch()
		host += native()
	}
	n := float64(b.N)
	b.ReportMetric(warm.Seconds()/n, "warm-ci-s")
	b.ReportMetric(changed.Seconds()/n, "one-file-ci-s")
	b.ReportMetric(host.Seconds()/n, "native-s")
	b.ReportMetric(changed.Seconds()/host.Seconds(), "one-file-ratio")
}
