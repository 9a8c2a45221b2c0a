package testworld

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The test world's build cache keeps hello-service's binary and image for
// each version on disk, between worlds, test binaries and runs. A run of
// the engine-free suite starts about a hundred worlds, and building the
// sample anew for each one (a `go build`, then gzip of its layer) cost
// about a sixth of pipeline/compose's CPU. An entry's key covers
// everything the build reads, so a changed sample or toolchain builds anew.

// cacheRoot is where built fixtures are kept: $GOSHIP_TESTWORLD_CACHE, else
// goship-testworld in the user's cache dir.
func cacheRoot(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("GOSHIP_TESTWORLD_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("testworld: no cache dir for built fixtures (set GOSHIP_TESTWORLD_CACHE): %v", err)
	}
	return filepath.Join(d, "goship-testworld")
}

// cachedDir returns the directory of entry name with key, made by build
// (which fills the empty directory it is given) when it is missing.
// Entries are built under a temp name and renamed, so test binaries
// running in parallel never see half an entry.
func cachedDir(t testing.TB, name, key string, build func(dir string) error) string {
	t.Helper()
	root := cacheRoot(t)
	dir := filepath.Join(root, name+"-"+key)
	done := filepath.Join(dir, ".done")
	if _, err := os.Stat(done); err == nil {
		// Marks the entry as in use, so that pruning (below) leaves it.
		now := time.Now()
		_ = os.Chtimes(done, now, now)
		return dir
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("testworld: build cache %s: %v", root, err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+name+"-")
	if err != nil {
		t.Fatalf("testworld: build cache %s: %v", root, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := build(tmp); err != nil {
		t.Fatalf("testworld: build %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// World-readable: the unprivileged deploy user reads fixtures too.
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another test binary renamed the same entry first: use it.
		if _, statErr := os.Stat(done); statErr != nil {
			t.Fatalf("testworld: build cache entry %s: %v", dir, err)
		}
	}
	// Entries of name not used for a day were built from other source or
	// settings: no run in progress reads them.
	stale, _ := filepath.Glob(filepath.Join(root, name+"-*", ".done"))
	for _, s := range stale {
		if st, err := os.Stat(s); err == nil && time.Since(st.ModTime()) > 24*time.Hour && filepath.Dir(s) != dir {
			_ = os.RemoveAll(filepath.Dir(s))
		}
	}
	return dir
}

// sourceKey hashes the Go toolchain on PATH and every file under dir: what
// a build of dir reads, apart from the module cache (pinned by go.sum).
func sourceKey(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	_, _ = fmt.Fprintln(h, runtime.Version())
	if goBin, err := exec.LookPath("go"); err == nil {
		if st, err := os.Stat(goBin); err == nil {
			_, _ = fmt.Fprintln(h, goBin, st.Size(), st.ModTime().UnixNano())
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, _ = fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		t.Fatalf("testworld: hash %s: %v", dir, err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// key hashes parts into a short cache key.
func key(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:8])
}
