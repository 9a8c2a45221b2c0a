package testworld

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/goship-dev/goship/pipeline/image"
)

// ProxyImage is the blue-green proxy for tests: the Caddy that
// scripts/tools.sh builds (static, from tools/bundle; nothing can be
// pulled here), at /usr/bin/caddy on an empty base like the official
// image has it, loaded into the local dockerd. The tag carries the
// binary's hash, so a warm machine does not reload it.
func ProxyImage(t testing.TB, d *Docker) string {
	t.Helper()
	bin, err := os.ReadFile(Tool(t, "caddy"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	ref := "goship.test/caddy:" + hex.EncodeToString(sum[:8])
	if _, err := d.Try(nil, "image", "inspect", ref); err == nil {
		return ref
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
