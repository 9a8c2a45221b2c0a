package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/cachedir"
)

// Caches returns goship's cache volumes (the module download, the Go
// build cache, golangci-lint's cache and Trivy's DB) as a directory, one
// subdirectory per volume (gomod/, gobuild/, golangci/, trivy/), for
// `export --path=… --wipe`. Given back with --cache-from to a fresh engine
// (an ephemeral CI runner), it seeds that engine's empty volumes. It is
// bounded: build and lint entries unused for longer than max-age are
// left out, and the files' sizes add up to at most max-size (Trivy's DBs
// go first, then the least recently used build and lint entries, the
// module download last). No file that may hold a secret is kept:
// .netrc, .env, keys, Docker and Git credentials, Go's VCS clones,
// Trivy's scan results, and any file containing the credentials of
// --goproxy. goship-caches.txt says what was kept and left out.
//
// By default the kept files come packed in one goship-caches.tar: an
// export of tens of thousands of files to the host can stall for good
// (dagger/dagger#6355, upstream moby/buildkit#2950; it did here with a
// large service's build cache), one file does not. --cache-from reads the
// archive and the plain tree alike.
// +cache="never"
func (g *Goship) Caches(
	ctx context.Context,
	// Pack the kept files into goship-caches.tar; false: the plain tree (gomod/, gobuild/, …), to look into.
	// +optional
	// +default=true
	archive bool,
	// Cap on the sum of the kept files' sizes (a compressed archive of them is smaller), e.g. 2GiB or 500MiB.
	// +optional
	// +default="2GiB"
	maxSize string,
	// Build and lint cache entries unused for longer are left out, e.g. 5d or 36h (Go's own limit is 5 days).
	// +optional
	// +default="5d"
	maxAge string,
) (*dagger.Directory, error) {
	limit, err := cachedir.ParseSize(maxSize)
	if err != nil {
		return nil, fmt.Errorf("max-size: %w", err)
	}
	age, err := cachedir.ParseAge(maxAge)
	if err != nil {
		return nil, fmt.Errorf("max-age: %w", err)
	}
	policy := cachedir.Policy{MaxAge: age, MaxBytes: limit, Now: time.Now().UTC()}
	names := g.cacheNames()
	c := dag.Container().From(g.GoImage).
		// A volume's contents are in no cache key: without this, a second
		// export would reuse the first one's listing and copy.
		WithEnvVariable("GOSHIP_CACHES_AT", policy.Now.Format(time.RFC3339Nano)).
		WithMountedDirectory("/plan", dag.Directory())
	for _, n := range names {
		c = c.WithMountedCache("/caches/"+n, g.cache(n))
	}
	listed := c.WithExec([]string{"sh", "-c", "(" + cachedir.ListScript("/caches", names) + ") > /plan/listing"})
	listing, cleanup, err := exportTemp(ctx, listed.File("/plan/listing"), "listing")
	if err != nil {
		return nil, fmt.Errorf("list the cache volumes: %w", err)
	}
	defer cleanup()
	data, err := os.ReadFile(listing)
	if err != nil {
		return nil, fmt.Errorf("read the cache listing: %w", err)
	}
	entries, err := cachedir.ParseListing(data)
	if err != nil {
		return nil, err
	}
	plan := cachedir.Decide(entries, policy)
	keep, err := moduleFile(ctx, "keep", plan.KeepList())
	if err != nil {
		return nil, err
	}
	script := cachedir.CopyScript("/caches", "/plan/keep", "/out")
	c = c.WithMountedFile("/plan/keep", keep).WithMountedDirectory("/out", dag.Directory())
	for i, cred := range proxyCredentials(g.Goproxy) {
		// Go writes no proxy URL into its caches; this makes sure none
		// slipped into a file that goes on to a CI cache service.
		env := fmt.Sprintf("GOSHIP_SCRUB_%d", i)
		c = c.WithSecretVariable(env, dag.SetSecret(fmt.Sprintf("goship-goproxy-credential-%d", i), cred))
		// grep finding nothing (exit 1) is the good outcome, not a failure.
		script += fmt.Sprintf(` && { grep -rlZF -e "$%s" /out || [ $? -eq 1 ]; } | xargs -0r rm -fv --`, env)
	}
	dir := "/out"
	if archive {
		script += " && tar -cf /pack/" + cachesArchive + " -C /out ."
		c, dir = c.WithMountedDirectory("/pack", dag.Directory()), "/pack"
	}
	out := c.WithExec([]string{"bash", "-o", "pipefail", "-c", script}).Directory(dir)
	return out.WithNewFile("goship-caches.txt", plan.Summary()), nil
}

// cachesArchive is the file Caches packs the kept files into.
const cachesArchive = "goship-caches.tar"

// cacheNames are the volumes Caches exports, without the namespace: the
// Trivy one is named after the constructor's DB repositories (see
// trivyCache), as ci's scan names it.
func (g *Goship) cacheNames() []string {
	return []string{cachedir.GoMod, cachedir.GoBuild, cachedir.Lint, trivyCache(g.defaultScanPolicy())}
}

// cacheSeed is how cache() creates volume what: with --cache-from, seeded
// from that directory's what/ subdirectory (empty when it has none), read
// as cachedir.Restore says: what an export would keep. In Dagger v0.21 a volume
// with a source is the volume of that key and that source (the
// cacheVolume call with both): the source fills it once, when it is
// created, and never again, so it stays warm from call to call with the
// same directory; the unseeded volume of the key is another one, and no
// directory ever overwrites it.
func (g *Goship) cacheSeed(what string) dagger.CacheVolumeOpts {
	if g.CacheFrom == nil {
		return dagger.CacheVolumeOpts{}
	}
	include, exclude := cachedir.Restore(what)
	seed := dag.Directory().
		WithDirectory(what, dag.Directory()).
		WithDirectory(".", g.cacheFromTree(), dagger.DirectoryWithDirectoryOpts{Include: include, Exclude: exclude}).
		Directory(what)
	return dagger.CacheVolumeOpts{Source: seed}
}

// cacheFromTree is --cache-from as a tree: its files, with its
// goship-caches.tar (Caches' default form) unpacked over them. The
// unpacking is keyed by the archive alone and runs once per archive (a
// directory without one unpacks nothing; a damaged one, nothing either).
func (g *Goship) cacheFromTree() *dagger.Directory {
	packed := dag.Directory().WithDirectory(".", g.CacheFrom, dagger.DirectoryWithDirectoryOpts{Include: []string{cachesArchive}})
	unpacked := dag.Container().From(g.GoImage).
		WithMountedDirectory("/in", packed).
		WithMountedDirectory("/out", dag.Directory()).
		// A damaged archive seeds nothing (a cold run), never half of it:
		// Go does not re-hash build-cache entries when it reads them.
		WithExec([]string{"sh", "-c", "[ ! -f /in/" + cachesArchive + " ] || tar -xf /in/" + cachesArchive + " -C /out || " +
			"{ echo \"goship: --cache-from's " + cachesArchive + " did not unpack; the caches start empty\" >&2; find /out -mindepth 1 -delete; }"}).
		Directory("/out")
	return g.CacheFrom.WithoutFile(cachesArchive).WithDirectory(".", unpacked)
}

// proxyCredentials are the passwords (or lone tokens) in a GOPROXY list
// (https://user:token@proxy,direct) long enough to search for.
func proxyCredentials(goproxy string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(goproxy, func(r rune) bool { return r == ',' || r == '|' }) {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		// A token alone sits where the user name would (https://TOKEN@host).
		cred, ok := u.User.Password()
		if !ok {
			cred = u.User.Username()
		}
		if len(cred) >= 8 { // shorter would match by chance
			out = append(out, cred)
		}
	}
	return out
}
