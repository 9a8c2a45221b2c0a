package compose

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/outcome"
	"github.com/goship-dev/goship/pipeline/sshconn"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// A registry that stops sending mid-blob cannot hang a deploy: the pull
// is ended on the server at with-timeouts --pull, the error is a DeadlineError
// naming the pull, the deploy lock is free again (the next deploy
// proceeds), and the previous release served throughout.
func TestPullThatStallsEndsAtItsDeadline(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app, port := w.app(t, "stall")
	if _, err := Deploy(context.Background(), w.dial(t), w.spec(app, port, "v1")); err != nil {
		t.Fatal(err)
	}

	stall := startStallingRegistry(t, uniqueImage(t))
	spec := w.spec(app, port, "v1")
	spec.Image, spec.Version = stall.ref, "stalled"
	spec.Transfer = host.Registry{Host: stall.host} // anonymous: docker pulls it as it is
	const limit = 4 * time.Second
	spec.Timeouts.Pull = limit

	start := time.Now()
	res, err := Deploy(context.Background(), w.dial(t), spec)
	took := time.Since(start)
	t.Logf("the stalled deploy returned after %s: %v", took.Round(time.Millisecond), err)
	var de *sshconn.DeadlineError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *sshconn.DeadlineError", err)
	}
	if !strings.HasPrefix(de.Step, "pull ") || de.Limit != limit || de.After < limit || de.EndErr != nil {
		t.Fatalf("deadline error: step %q, limit %s, after %s, end %v", de.Step, de.Limit, de.After, de.EndErr)
	}
	if !stall.stalled() {
		t.Fatal("the registry never served the blob it stalls: the pull failed some other way")
	}
	// Preflight, lock and ending the process group take a few seconds on
	// a loaded machine; a pull that hung would take until the test's end.
	if took > limit+30*time.Second {
		t.Fatalf("the deploy returned after %s; its pull deadline is %s", took, limit)
	}
	if res.Outcome != outcome.Unchanged {
		t.Fatalf("outcome = %s, want unchanged", res.Outcome)
	}
	for _, want := range []string{"pull", "stopped after", "with-timeouts --pull"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got := version(t, port); got != "v1" {
		t.Fatalf("after the stalled pull /version = %q, want v1", got)
	}
	// The docker pull on the server (this machine) was ended, not only
	// our side of the session.
	if procs := processesMentioning(stall.host); len(procs) > 0 {
		t.Fatalf("still running on the server after the deadline: %q", procs)
	}
	// The lock went with the failed deploy: the next one proceeds.
	if _, err := Deploy(context.Background(), w.dial(t), w.spec(app, port, "v2")); err != nil {
		t.Fatalf("the deploy after the stalled one: %v", err)
	}
	if got := version(t, port); got != "v2" {
		t.Fatalf("/version = %q, want v2", got)
	}
}

// uniqueImage is an image whose layer no dockerd has yet (random content),
// so a pull must download it.
func uniqueImage(t *testing.T) v1.Image {
	t.Helper()
	junk := make([]byte, 4<<20)
	if _, err := rand.Read(junk); err != nil {
		t.Fatal(err)
	}
	spec := image.DefaultRuntimeSpec(testworld.HelloPort)
	img, err := image.Assemble(spec, image.File{Path: spec.BinaryPath, Mode: 0o755, Content: junk})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// stallingRegistry serves one image's manifest and config, then sends
// half of each layer and stops sending, holding the connection open.
type stallingRegistry struct {
	host, ref string
	mu        sync.Mutex
	hits      int
}

func (s *stallingRegistry) stalled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits > 0
}

func startStallingRegistry(t *testing.T, img v1.Image) *stallingRegistry {
	t.Helper()
	manifest, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	mediaType, _ := img.MediaType()
	digest, _ := img.Digest()
	config, _ := img.RawConfigFile()
	configName, _ := img.ConfigName()
	layers := map[string]v1.Layer{}
	ls, _ := img.Layers()
	for _, l := range ls {
		d, _ := l.Digest()
		layers[d.String()] = l
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(testworld.ListenHost(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &stallingRegistry{host: net.JoinHostPort(testworld.ListenHost(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))}
	s.ref = s.host + "/stall/app@" + digest.String()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		p := r.URL.Path
		switch {
		case p == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.HasPrefix(p, "/v2/stall/app/manifests/"):
			w.Header().Set("Content-Type", string(mediaType))
			w.Header().Set("Docker-Content-Digest", digest.String())
			w.Header().Set("Content-Length", strconv.Itoa(len(manifest)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(manifest)
			}
		case p == "/v2/stall/app/blobs/"+configName.String():
			w.Header().Set("Content-Length", strconv.Itoa(len(config)))
			_, _ = w.Write(config)
		case strings.HasPrefix(p, "/v2/stall/app/blobs/") && layers[strings.TrimPrefix(p, "/v2/stall/app/blobs/")] != nil:
			l := layers[strings.TrimPrefix(p, "/v2/stall/app/blobs/")]
			size, _ := l.Size()
			rc, err := l.Compressed()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer func() { _ = rc.Close() }()
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			if r.Method == http.MethodHead {
				return
			}
			_, _ = io.CopyN(w, rc, size/2)
			w.(http.Flusher).Flush()
			s.mu.Lock()
			s.hits++
			s.mu.Unlock()
			select { // stop sending, keep the connection
			case <-release:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		close(release)
		_ = srv.Close()
	})
	return s
}

// processesMentioning lists the command lines on this machine (the test
// server) that contain s, other than the test binary itself.
func processesMentioning(s string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), s) || strings.Contains(string(b), ".test") {
			continue
		}
		found = append(found, fmt.Sprintf("%s: %s", filepath.Base(filepath.Dir(p)), strings.ReplaceAll(string(b), "\x00", " ")))
	}
	return found
}
