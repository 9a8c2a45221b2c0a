package ciengine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// kitEngineImage is the Dagger v0.21.0 engine image the engine kit
// (../shared/engine) builds; it has the dagger CLI the probe runs.
const kitEngineImage = "127.0.0.1:5000/goship/dagger-engine:v0.21.0"

// TestApplyOnCluster runs the real engine image on a real cluster
// (GOSHIP_KUBECONFIG, GOSHIP_K8S_REGISTRY): in the pod network (so it
// leaves the host's own engine alone), with its state in a node
// directory. The engine becomes Ready (its CLI answers through the
// socket), a second apply of the same options restarts nothing, a
// changed GC restarts the engine, an image that does not pull fails the
// wait at once, and Remove leaves no pod.
func TestApplyOnCluster(t *testing.T) {
	path, reg := os.Getenv("GOSHIP_KUBECONFIG"), os.Getenv("GOSHIP_K8S_REGISTRY")
	if path == "" || reg == "" {
		t.Skip("CLUSTER UNAVAILABLE: GOSHIP_KUBECONFIG not set")
	}
	kc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	image := copyImage(t, kitEngineImage, reg+"/goship-test/dagger-engine:v0.21.0")
	c, err := Connect(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 3)
	_, _ = rand.Read(id)
	state := t.TempDir()
	o := Options{
		Name: "engine", Namespace: "gs-eng-" + hex.EncodeToString(id), Image: image,
		StateDir: state + "/state", RunDir: state + "/run",
		HostMounts:  []HostMount{{HostPath: "/sys/fs/cgroup", MountPath: "/sys/fs/cgroup"}},
		GracePeriod: 10 * time.Second,
	}
	ctx := context.Background()
	t.Cleanup(func() {
		if err := c.Remove(context.Background(), o, 2*time.Minute); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_ = exec.Command("kubectl", "--kubeconfig", path, "delete", "namespace", o.Namespace, "--wait=false").Run()
	})

	res, err := c.Apply(ctx, o, 5*time.Minute)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(res.Pods) != 1 || res.Pods[0].Node == "" || res.Options.GC.IsZero() {
		t.Fatalf("Apply: want one Ready engine and a sized GC, got %+v", res)
	}
	first := res.Pods[0]
	if _, err := os.Stat(state + "/run/engine.sock"); err != nil {
		t.Fatalf("no engine socket in the node's run dir: %v", err)
	}
	again, err := c.Apply(ctx, o, time.Minute)
	if err != nil || again.Pods[0].Name != first.Name {
		t.Fatalf("the same options again: %v, %+v (want %s kept)", err, again.Pods, first.Name)
	}
	o.GC = GC{MaxUsedSpace: "20GB", ReservedSpace: "2GB", MinFreeSpace: "5GB"}
	changed, err := c.Apply(ctx, o, 5*time.Minute)
	if err != nil || changed.Pods[0].Name == first.Name {
		t.Fatalf("a new GC: want the engine restarted, got %v, %+v", err, changed.Pods)
	}

	bad := o
	bad.Name, bad.Image = "no-such-image", reg+"/goship-test/no-such-engine:v0"
	bad.StateDir, bad.RunDir = state+"/bad-state", state+"/bad-run"
	t.Cleanup(func() { _ = c.Remove(context.Background(), bad, time.Minute) })
	start := time.Now()
	_, err = c.Apply(ctx, bad, 4*time.Minute)
	var pe *PodError
	if !errors.As(err, &pe) || (pe.Reason != "ErrImagePull" && pe.Reason != "ImagePullBackOff") {
		t.Fatalf("an image that does not pull: want a PodError on the pull, got %v", err)
	}
	if waited := time.Since(start); waited > 2*time.Minute {
		t.Fatalf("the failed pull ended the wait only after %s", waited)
	}

	if err := c.Remove(ctx, o, 2*time.Minute); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := c.Wait(ctx, o, 5*time.Second); err == nil {
		t.Fatal("Wait after Remove: want an error")
	}
}

// copyImage copies an image between plain-HTTP registries and returns the
// copy pinned by digest; without the kit's engine image, the test skips.
func copyImage(t *testing.T, from, to string) string {
	t.Helper()
	ref, err := testworld.CopyImage(from, to, nil)
	if errors.Is(err, testworld.ErrImageUnreadable) {
		t.Skipf("ENGINE UNAVAILABLE: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
