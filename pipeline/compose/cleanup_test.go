package compose

import (
	"context"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// A test's deploys leave no images of its registry in the local dockerd.
func TestWorldLeavesNoPulledImages(t *testing.T) {
	t.Parallel()
	var host string
	t.Run("deploy", func(t *testing.T) {
		w := newWorld(t)
		host = w.reg.Host
		app, port := w.app(t, "leak")
		if _, err := Deploy(context.Background(), w.dial(t), w.spec(app, port, "v1")); err != nil {
			t.Fatal(err)
		}
		if refs := imagesOf(t, host); len(refs) == 0 {
			t.Fatal("the deploy pulled nothing into the local dockerd")
		}
	})
	if refs := imagesOf(t, host); len(refs) > 0 {
		t.Fatalf("images of the test registry left behind: %v", refs)
	}
}

func imagesOf(t *testing.T, host string) []string {
	t.Helper()
	out, err := testworld.Run(context.Background(), nil, nil, "docker", "image", "ls", "--format", "{{.Repository}}")
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, repo := range strings.Fields(out) {
		if strings.HasPrefix(repo, host+"/") {
			refs = append(refs, repo)
		}
	}
	return refs
}
