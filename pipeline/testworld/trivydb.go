package testworld

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Media types of Trivy's vulnerability DB artifact, as trivy downloads it.
const (
	trivyDBLayerType  = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	trivyDBConfigType = "application/vnd.aquasec.trivy.config.v1+json"
)

// PushTrivyDB writes an offline Trivy DB with one HIGH advisory (id, for
// Go module pkg, vulnerable below patched) and pushes it to r as
// <repo>:2, the artifact trivy's --db-repository downloads. It returns
// the repository reference to pass, tag included.
func (r *Registry) PushTrivyDB(t testing.TB, repo, id, pkg, vulnerable, patched string) string {
	t.Helper()
	cache := Dir(t, "trivydb")
	TrivyDB(t, cache, id, pkg, vulnerable, patched)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range []string{"trivy.db", "metadata.json"} {
		data, err := os.ReadFile(filepath.Join(cache, "db", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: f, Mode: 0o644, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer(buf.Bytes(), trivyDBLayerType),
		Annotations: map[string]string{"org.opencontainers.image.title": "db.tar.gz"},
	})
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), trivyDBConfigType)
	ref, err := name.ParseReference(r.Host + "/" + repo + ":2")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, r.RemoteOptions()...); err != nil {
		t.Fatalf("testworld: push trivy DB: %v", err)
	}
	return ref.String()
}

// ServeGoModuleProxy serves a file:// GOPROXY (see GoModuleProxy) over
// HTTP on ListenHost, so builds in containers can reach it, and returns
// its URL.
func ServeGoModuleProxy(t testing.TB, fileProxy string) string {
	t.Helper()
	return "http://" + ServeHTTP(t, http.FileServer(http.Dir(strings.TrimPrefix(fileProxy, "file://"))))
}

// ServeHTTP serves h on ListenHost, where the engine's containers reach
// it, until t ends, and returns its host:port.
func ServeHTTP(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ListenHost(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
