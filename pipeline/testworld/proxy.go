package testworld

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/goship-dev/goship/pipeline/image"
)

// ProxyImage is the blue-green proxy for tests: Caddy built from the
// pinned module in tools/caddy (nothing can be pulled here), at
// /usr/bin/caddy on an empty base like the official image has it, loaded
// into the local dockerd. The tag carries the hash of tools/caddy's
// go.mod and go.sum, so a warm machine neither rebuilds nor reloads.
func ProxyImage(t testing.TB, d *Docker) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "tools", "caddy")
	key := moduleKey(t, dir)
	ref := "goship.test/caddy:" + key
	if _, err := d.Try(nil, "image", "inspect", ref); err == nil {
		return ref
	}
	bin, err := os.ReadFile(caddyBinary(t, dir, key))
	if err != nil {
		t.Fatal(err)
	}
	spec := image.RuntimeSpec{
		BinaryPath: "/usr/bin/caddy",
		Args:       []string{"version"},
		User:       fmt.Sprintf("%d:%d", image.NonRootUID, image.NonRootUID),
		Workdir:    "/",
		// goship's config turns autosave off; these only need to exist.
		Env: []string{"XDG_CONFIG_HOME=/config", "XDG_DATA_HOME=/data"},
	}
	img, err := image.Assemble(spec, image.File{Path: spec.BinaryPath, Mode: 0o755, Content: bin})
	if err != nil {
		t.Fatal(err)
	}
	LoadImage(t, d, img, ref)
	return ref
}

// LoadImage loads img into the local dockerd as ref (docker load).
func LoadImage(t testing.TB, d *Docker, img v1.Image, ref string) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "load", "-q")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+d.ConfigDir)
	cmd.Stdin = pr
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testworld: docker load %s: %v: %s", ref, err, out)
	}
}

// moduleKey is the cache key scripts/tools.sh uses: the first 16 hex
// digits of sha256(go.mod + go.sum).
func moduleKey(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// caddyBinary builds cmd/caddy statically from the tools module, once
// per machine: in the tool cache scripts/tools.sh uses, under a file lock
// so parallel tests build it once. The first build takes minutes.
func caddyBinary(t testing.TB, dir, key string) string {
	t.Helper()
	cache := os.Getenv("GOSHIP_TOOLS_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "goship-tools")
	}
	out := filepath.Join(cache, "caddy-"+key)
	bin := filepath.Join(out, "caddy")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(cache, "caddy.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin // another test built it while this one waited
	}
	t.Logf("testworld: building caddy from %s (first run on this machine: minutes)", dir)
	tmp := out + ".tmp"
	_ = os.RemoveAll(tmp)
	env := []string{"CGO_ENABLED=0", "GOFLAGS=-mod=readonly"}
	if _, err := runIn(dir, env, "go", "build", "-trimpath", "-o", filepath.Join(tmp, "caddy"), "github.com/caddyserver/caddy/v2/cmd/caddy"); err != nil {
		t.Fatalf("testworld: build caddy: %v", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return bin
}
