//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// `cluster … ci-engine` through the module, on the kit's cluster: no image
// is refused before anything is applied; an engine image that does not
// pull ends the wait in seconds, naming the reason, not after --timeout;
// --remove takes the DaemonSet away. (The engine running for real, its
// state and both runner routes: pipeline/ciengine's TestApplyOnCluster and
// TestSharedEngineOnCluster.)
func TestClusterCIEngineThroughTheModule(t *testing.T) {
	c := startCluster(t)
	cc := clusterCalls{t: t, c: c, src: filepath.Join(testworld.RepoRoot(t), "examples", "hello-service")}
	ctx := context.Background()
	const created = "2026-01-01T00:00:00Z"
	engine := []string{"ci-engine", "--engine-namespace=" + c.namespace, "--name=e2e-engine"}
	daemonSet := func() error {
		_, err := c.kube.AppsV1().DaemonSets(c.namespace).Get(ctx, "e2e-engine", metav1.GetOptions{})
		return err
	}

	mustFail(t, cc.on(created, engine...), "ci-engine without an image", "engine image")
	if err := daemonSet(); !apierrors.IsNotFound(err) {
		t.Fatalf("ci-engine without an image applied something: %v", err)
	}

	missing := cc.on(created, append(engine, "--image="+c.registry+"/goship-test/no-such-engine:v0", "--timeout=5m")...)
	mustFail(t, missing, "an engine image that does not pull", "e2e-engine", "ImagePull")
	t.Logf("the pull failure ended ci-engine in %s (its --timeout is 5m)", missing.took.Round(time.Second))
	if missing.took > 2*time.Minute {
		t.Errorf("an image that does not pull took %s to fail: it must end the wait at once", missing.took)
	}
	if err := daemonSet(); err != nil {
		t.Fatalf("the DaemonSet is not there after apply: %v", err)
	}

	must(t, cc.on(created, append(engine, "--remove")...), "ci-engine --remove")
	if err := daemonSet(); !apierrors.IsNotFound(err) {
		t.Fatalf("ci-engine --remove left the DaemonSet: %v", err)
	}
}
