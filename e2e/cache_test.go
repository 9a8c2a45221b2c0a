//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/cachedir"
	"github.com/goship-dev/goship/pipeline/testworld"
)

// What a fresh engine (an ephemeral CI runner) gets from --cache-from,
// read from goship's own outputs rather than from wall time:
//   - the module download starts full: the seeded run has GOPROXY=off, so
//     `go mod download` of a module with a dependency can only pass from
//     the seed;
//   - the build cache starts full: the seeded run, in a namespace no call
//     used before, reports the unchanged packages' tests as "(cached)";
//   - the seed reaches every volume (marker entries planted in the
//     exported gobuild/ and golangci/ come back out of the new namespace
//     with their old mtimes), and a seeded volume keeps what a run added
//     in the next call with the same directory instead of going back to it;
//   - a warm volume is never overwritten: a call that names the first
//     namespace with an older directory gets volumes of its own, seeded
//     from it, and after it that namespace's own volumes still hold their
//     contents and none of the directory's.
//
// (A GOPROXY with a token is TestCachesLeaveSecretsOut's: Go sends
// credentials only over HTTPS, and the engine's proxy here is plain HTTP.)
func TestCacheFromSeedsAFreshEngine(t *testing.T) {
	src := hello(t)
	addDependency(t, src)
	stamp := time.Now().UnixNano()
	first, second := fmt.Sprintf("cachea%d", stamp), fmt.Sprintf("cacheb%d", stamp)
	proxy := "--goproxy=http://10.87.0.1:8765"

	// A cold run online, then its caches exported.
	cold := call(t, src, proxy, "--scanners=secret", "--cache-namespace="+first, "ci")
	must(t, cold, "cold ci")
	t.Logf("ci, fresh volumes (warm module and images): %s", cold.took.Round(100*time.Millisecond))
	exported := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, proxy, "--cache-namespace="+first, "caches", "--archive=false", "export", "--path="+exported, "--wipe"), "caches")
	for _, p := range []string{"goship-caches.txt", "gomod/cache/download/golang.org/x/sync/@v/v0.20.0.zip", "gomod/cache/download/golang.org/x/sync/@v/v0.20.0.mod"} {
		if _, err := os.Stat(filepath.Join(exported, p)); err != nil {
			t.Fatalf("the export lacks %s: %v", p, err)
		}
	}
	for _, dir := range []string{"gobuild", "golangci"} {
		if n := countFiles(t, filepath.Join(exported, dir)); n < 10 {
			t.Fatalf("the export's %s/ has %d files, want a build's worth", dir, n)
		}
	}
	if _, err := os.Stat(filepath.Join(exported, "gomod", "golang.org")); err == nil {
		t.Fatalf("the export holds extracted module trees (gomod/golang.org), which the zips rebuild")
	}
	summary, _ := os.ReadFile(filepath.Join(exported, "goship-caches.txt"))
	t.Logf("exported:\n%s", summary)

	// Entries no run writes, two days old: they come back out of a
	// seeded volume only as seeded, and with that mtime only unused.
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	markers := []string{
		"gobuild/ff/ff" + strings.Repeat("0", 62) + "-d",
		"golangci/fe/fe" + strings.Repeat("0", 62) + "-a",
	}
	for _, m := range markers {
		writeFile(t, filepath.Join(exported, m), "planted by the e2e test\n")
		if err := os.Chtimes(filepath.Join(exported, m), old, old); err != nil {
			t.Fatal(err)
		}
	}
	before := fileSet(t, exported)

	// The default export is the same files in one goship-caches.tar; the
	// seeded run below reads that form (with the markers packed in too),
	// the older-directory check further down the plain tree.
	archived := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, proxy, "--cache-namespace="+first, "caches", "export", "--path="+archived, "--wipe"), "caches as an archive")
	inTar := tarFiles(t, filepath.Join(archived, "goship-caches.tar"))
	for p := range before {
		if !inTar[p] && p != "goship-caches.txt" && !slices.Contains(markers, p) {
			t.Fatalf("the archive lacks %s, which the tree export has", p)
		}
	}
	packed := t.TempDir()
	var subdirs []string
	for _, e := range mustReadDir(t, exported) {
		if e.IsDir() {
			subdirs = append(subdirs, e.Name())
		}
	}
	if out, err := exec.Command("tar", append([]string{"-cf", filepath.Join(packed, "goship-caches.tar"), "-C", exported}, subdirs...)...).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}

	// One file changed, a namespace no call has used, the proxy off.
	writeFile(t, filepath.Join(src, "internal", "extra", "extra.go"), "// Package extra is a change the seed has not seen.\npackage extra\n\n// Answer is 42.\nconst Answer = 42\n")
	reports := t.TempDir()
	seeded := call(t, src, "--goproxy=off", "--scanners=secret", "--cache-namespace="+second, "--cache-from="+packed,
		"reports", "export", "--path="+reports)
	must(t, seeded, "ci seeded from the export")
	t.Logf("reports, fresh volumes seeded from the export, one new file: %s", seeded.took.Round(100*time.Millisecond))
	if failed, err := os.ReadFile(filepath.Join(reports, "FAILED")); err == nil {
		t.Fatalf("ci seeded from the export, GOPROXY=off, failed:\n%s", failed)
	}
	requireCachedTests(t, reports, "example.com/hello-service/internal/server", "example.com/hello-service/internal/fanout")

	again := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, "--goproxy=off", "--cache-namespace="+second, "--cache-from="+packed, "caches", "--archive=false", "export", "--path="+again, "--wipe"), "caches of the seeded namespace")
	for _, m := range markers {
		info, err := os.Stat(filepath.Join(again, m))
		if err != nil {
			t.Fatalf("the seeded volume lacks the planted %s: %v", m, err)
		}
		if !info.ModTime().Equal(old) {
			t.Fatalf("planted %s has mtime %s, want %s (kept through seed and export)", m, info.ModTime(), old)
		}
	}
	var added int
	for p := range fileSet(t, again) {
		if !before[p] && strings.HasPrefix(p, "gobuild/") {
			added++
		}
	}
	if added == 0 {
		t.Fatalf("the seeded namespace's build cache holds nothing the seed did not: the change's compile was lost between calls")
	}

	// The first namespace, mounted with the older directory, then read on
	// its own: still its own contents, none of the directory's markers.
	mounted := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, "--cache-namespace="+first, "--cache-from="+exported, "caches", "--archive=false", "export", "--path="+mounted, "--wipe"), "caches with an older directory")
	for _, m := range markers {
		// The name with that directory is a volume of its own, seeded from it.
		if _, err := os.Stat(filepath.Join(mounted, m)); err != nil {
			t.Fatalf("the volumes of the first namespace and the older directory lack its %s: %v", m, err)
		}
	}
	own := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, "--cache-namespace="+first, "caches", "--archive=false", "export", "--path="+own, "--wipe"), "caches of the warm namespace")
	for _, m := range markers {
		if _, err := os.Stat(filepath.Join(own, m)); err == nil {
			t.Fatalf("the warm namespace took %s from an older directory", m)
		}
	}
	if n, want := countFiles(t, filepath.Join(own, "gobuild")), countFiles(t, filepath.Join(exported, "gobuild"))-1; n < want {
		t.Fatalf("the warm namespace's build cache has %d files, had %d", n, want)
	}
}

// Files that may hold secrets never leave through caches: planted in a
// seed (where a volume could have picked them up), they are neither
// seeded nor exported, and a cache file that contains the GOPROXY token
// is dropped from the export.
func TestCachesLeaveSecretsOut(t *testing.T) {
	src := hello(t)
	seed := filepath.Join(t.TempDir(), "seed")
	stamp := time.Now().UnixNano()
	secrets := map[string]string{}
	plant := func(path, format string) {
		s := fmt.Sprintf("planted%dsecret%d", stamp, len(secrets))
		secrets[path] = s
		writeFile(t, filepath.Join(seed, path), fmt.Sprintf(format, s))
	}
	plant("gomod/.netrc", "machine proxy.example.com login goship password %s\n")
	plant("gomod/cache/vcs/0123abcd/config", "[remote \"origin\"]\n\turl = https://goship:%s@git.example.com/acme/private\n")
	plant("gobuild/.env", "API_TOKEN=%s\n")
	plant("golangci/.docker/config.json", `{"auths":{"registry.cn-hangzhou.aliyuncs.com":{"auth":"%s"}}}`)
	plant("golangci/keys/deploy.pem", "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n")
	plant("trivy/fanal/fanal.db", "secret finding: AWS_SECRET_ACCESS_KEY=%s\n")
	token := fmt.Sprintf("tok%dproxy", stamp)
	// A legitimately named entry that happens to hold the proxy token.
	writeFile(t, filepath.Join(seed, "gobuild", "ab", "ab"+strings.Repeat("1", 62)+"-d"), "GOPROXY=http://goship:"+token+"@10.87.0.1:8765\n")
	keep := filepath.Join("gobuild", "cd", "cd"+strings.Repeat("2", 62)+"-d")
	writeFile(t, filepath.Join(seed, keep), "an ordinary build cache entry\n")

	out := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, "--goproxy=http://goship:"+token+"@10.87.0.1:8765", fmt.Sprintf("--cache-namespace=secrets%d", stamp),
		"--cache-from="+seed, "caches", "--archive=false", "export", "--path="+out, "--wipe"), "caches")
	if _, err := os.Stat(filepath.Join(out, keep)); err != nil {
		t.Fatalf("the ordinary entry did not make it through seed and export: %v", err)
	}
	for path := range secrets {
		if _, err := os.Stat(filepath.Join(out, path)); err == nil {
			t.Fatalf("%s was exported", path)
		}
	}
	var all []string
	for _, s := range secrets {
		all = append(all, s)
	}
	noSecrets(t, out, append(all, token)...)
}

// call runs a goship function on src with the engine's arguments, those
// named again in args replaced.
func call(t *testing.T, src string, args ...string) result {
	t.Helper()
	given := map[string]bool{}
	for _, a := range args {
		if name, _, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "--") {
			given[name] = true
		}
	}
	var base []string
	for _, a := range engineArgs() {
		if name, _, _ := strings.Cut(a, "="); !given[name] {
			base = append(base, a)
		}
	}
	root := testworld.RepoRoot(t)
	full := append(append([]string{"call", "-m", root, "--source=" + src}, base...), args...)
	return dagger(t, root, nil, full...)
}

// addDependency gives the service a module dependency (golang.org/x/sync,
// served by the engine's Go proxy) in a package of its own, with a test.
func addDependency(t *testing.T, src string) {
	t.Helper()
	writeFile(t, filepath.Join(src, "internal", "fanout", "fanout.go"), `// Package fanout runs functions concurrently.
package fanout

import "golang.org/x/sync/errgroup"

// All runs fns concurrently and returns the first error.
func All(fns ...func() error) error {
	var g errgroup.Group
	for _, f := range fns {
		g.Go(f)
	}
	return g.Wait()
}
`)
	writeFile(t, filepath.Join(src, "internal", "fanout", "fanout_test.go"), `package fanout

import (
	"errors"
	"testing"
)

func TestAll(t *testing.T) {
	boom := errors.New("boom")
	if err := All(func() error { return nil }, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("All = %v, want %v", err, boom)
	}
}
`)
	writeFile(t, filepath.Join(src, "go.mod"), "module example.com/hello-service\n\ngo 1.26\n\nrequire golang.org/x/sync v0.20.0\n")
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = src
	// go.sum from this machine's module cache: the test needs no network.
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go mod tidy with golang.org/x/sync: %v\n%s", err, out)
	}
}

// noSecrets fails t if any file under root holds one of secrets, or has
// a path that may hold one.
func noSecrets(t *testing.T, root string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if cachedir.IsSecret(filepath.ToSlash(rel)) {
			t.Errorf("exported %s, a path that may hold a secret", rel)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("exported %s holds a planted secret", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fileSet is every file under root, by slash-separated relative path.
func fileSet(t *testing.T, root string) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			set[filepath.ToSlash(rel)] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func countFiles(t *testing.T, root string) int {
	t.Helper()
	return len(fileSet(t, root))
}

// A damaged goship-caches.tar in --cache-from seeds nothing: the run
// starts cold, and not with the half that unpacked before the damage.
func TestCacheFromDamagedArchiveStartsCold(t *testing.T) {
	src := hello(t)
	tree := t.TempDir()
	marker := "gobuild/fd/fd" + strings.Repeat("3", 62) + "-d"
	writeFile(t, filepath.Join(tree, marker), "unpacked before the damage\n")
	big := make([]byte, 4<<20)
	writeFile(t, filepath.Join(tree, "gobuild", "fe", "fe"+strings.Repeat("4", 62)+"-d"), string(big))
	seed := t.TempDir()
	archive := filepath.Join(seed, "goship-caches.tar")
	if out, err := exec.Command("tar", "-cf", archive, "-C", tree, "gobuild").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if err := os.Truncate(archive, 1<<20); err != nil { // in the middle of the big entry
		t.Fatal(err)
	}
	if !tarFiles(t, archive)[marker] {
		t.Fatalf("the damaged archive should still list %s before its damage", marker)
	}
	out := filepath.Join(t.TempDir(), "caches")
	must(t, call(t, src, fmt.Sprintf("--cache-namespace=damaged%d", time.Now().UnixNano()), "--cache-from="+seed,
		"caches", "--archive=false", "export", "--path="+out, "--wipe"), "caches seeded from a damaged archive")
	if _, err := os.Stat(filepath.Join(out, marker)); err == nil {
		t.Fatalf("%s came out of a damaged archive: half a seed went in", marker)
	}
}

// tarFiles lists the regular files in a tar archive (read as far as it
// goes), as paths relative to its root.
func tarFiles(t *testing.T, archive string) map[string]bool {
	t.Helper()
	out, _ := exec.Command("tar", "-tf", archive).Output()
	files := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimPrefix(l, "./"); l != "" && !strings.HasSuffix(l, "/") {
			files[l] = true
		}
	}
	return files
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return es
}
