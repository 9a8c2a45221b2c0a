package testworld

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/goship-dev/goship/pipeline/gobuild"
	"github.com/goship-dev/goship/pipeline/image"
)

// HelloPort is the port hello-service listens on inside its container.
const HelloPort = 8080

// HelloVars are the -X targets of the sample service: goship's default
// link vars, which the sample declares in package main.
func HelloVars() []string {
	return []string{"main.version={{version}}", "main.commit={{commit}}", "main.date={{date}}"}
}

// BuildHelloBinary compiles examples/hello-service statically, stamped
// with version, and returns the binary's path. The binary is kept in the
// test world's build cache: a run builds each version once.
func BuildHelloBinary(t testing.TB, version string) string {
	t.Helper()
	return filepath.Join(helloBinaryDir(t, version), "hello")
}

func helloBinaryDir(t testing.TB, version string) string {
	t.Helper()
	src := filepath.Join(RepoRoot(t), "examples", "hello-service")
	ldflags, err := gobuild.LDFlags(gobuild.Stamp{Version: version, Commit: "c0ffee" + version, Date: "2026-01-01T00:00:00Z"}, HelloVars())
	if err != nil {
		t.Fatal(err)
	}
	env := append(gobuild.SortedEnv(gobuild.Env(gobuild.Target{OS: "linux", Arch: "amd64"})), "GOFLAGS=-mod=mod")
	k := key(append([]string{sourceKey(t, src), ldflags}, env...)...)
	return cachedDir(t, "hello-"+version, k, func(dir string) error {
		_, err := runIn(src, env, gobuild.BuildArgs("./cmd/hello", filepath.Join(dir, "hello"), ldflags)...)
		return err
	})
}

// HelloImage is hello-service as goship's runtime image: the binary at
// /app on an empty base, non-root, with a HEALTHCHECK on `app health`.
// A broken image answers 503 on /healthz.
func HelloImage(t testing.TB, version string, broken bool) v1.Image {
	t.Helper()
	img, err := assembleHello(BuildHelloBinary(t, version), version, broken)
	if err != nil {
		t.Fatal(err)
	}
	// The config names the layer's content (its diff ID) and every setting
	// of the image: it keys the entry without the gzip that a digest needs.
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	// Kept as an OCI layout: the manifest's bytes and the gzipped layer are
	// read back as they were written, so the digest is the same every time.
	dir := cachedDir(t, "hello-image", key(string(cfg), string(mt)), func(dir string) error {
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			return err
		}
		return p.AppendImage(img)
	})
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("testworld: read %s: %v", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("testworld: %s holds no single image (%v)", dir, err)
	}
	img, err = idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatalf("testworld: read %s: %v", dir, err)
	}
	return img
}

func assembleHello(binPath, version string, broken bool) (v1.Image, error) {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return nil, err
	}
	spec := image.DefaultRuntimeSpec(HelloPort)
	spec.Labels = image.OCILabels("c0ffee"+version, version, "https://example.com/hello-service", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	// The check's timeout covers runc starting the process too: on a loaded
	// 2-core test machine that alone took over 2 s and made a healthy
	// canary "unhealthy". A broken release still fails at once.
	spec.Healthcheck = &image.Healthcheck{Command: []string{"/app", "health"}, Interval: 2 * time.Second, Timeout: 10 * time.Second, Retries: 3}
	if broken {
		spec.Env = append(spec.Env, "HELLO_BROKEN=1")
	}
	return image.Assemble(spec, image.File{Path: spec.BinaryPath, Mode: 0o755, Content: bin})
}

// Push pushes img to ref on r with r's credentials and returns the
// digest reference.
func (r *Registry) Push(t testing.TB, img v1.Image, repoAndTag string) name.Digest {
	t.Helper()
	ref, err := name.ParseReference(r.Host + "/" + repoAndTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, r.RemoteOptions()...); err != nil {
		t.Fatalf("testworld: push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref.Context().Digest(d.String())
}

// Auth is r's basic-auth credential for go-containerregistry.
func (r *Registry) Auth() authn.Authenticator {
	if r.Username == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.Username, Password: r.Password}
}

// HelloReleases pushes hello v1, v2 and a broken v3 to r as
// goship/hello:<v> and returns their digest references by version. What
// the test pulls of them into the local dockerd goes with r (StartRegistry).
func HelloReleases(t testing.TB, r *Registry) map[string]name.Digest {
	t.Helper()
	out := map[string]name.Digest{}
	for _, v := range []string{"v1", "v2", "v3"} {
		out[v] = r.Push(t, HelloImage(t, v, v == "v3"), "goship/hello:"+v)
	}
	return out
}
