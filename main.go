// goship ships Go services: lint, race tests, a static binary in a minimal
// non-root image, a Trivy gate, a verified push to Alibaba Cloud Container
// Registry (ACR) and an SSH deploy with health check and automatic
// rollback. Every function runs the same on a laptop and in CI.
//
// This file holds the Goship object and its constructor; each verb lives in
// its own file and delegates its decisions to the engine-free pipeline/ and
// ci/ packages.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/goship-dev/goship/ci"
	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/gobuild"
	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/registry"
	"github.com/goship-dev/goship/pipeline/release"
	"github.com/goship-dev/goship/pipeline/scan"
)

// Goship is the prepared state every function starts from. Its fields
// are private: every `dagger call` loads the module's whole schema first,
// and the 30 settings exposed as fields made that load ~80 ms slower
// (measured on a one-file ci), for values the caller passed in anyway.
type Goship struct {
	// The Go project to ship.
	// +private
	Source *dagger.Directory
	// The Go module's directory inside the source ("." for the root).
	// +private
	Dir string
	// go.mod, go.sum and go.work files the module download reads.
	// +private
	DownloadFiles []string
	// A go.work applies to the module.
	// +private
	Workspace bool
	// Go version to build with.
	// +private
	GoVersion string
	// Main package to ship, e.g. ./cmd/hello; empty: found when a function needs it.
	// +private
	Pkg string
	// App name: image repository, compose project, server directory.
	// +private
	App string
	// Module path from go.mod.
	// +private
	ModulePath string
	// Go build image, after mirror rewriting.
	// +private
	GoImage string
	// golangci-lint image, after mirror rewriting.
	// +private
	LintImage string
	// Trivy image, after mirror rewriting.
	// +private
	TrivyImage string
	// Runtime base image; empty means an empty (scratch) base.
	// +private
	RuntimeBase string
	// Registry prefix replacing Docker Hub for default images.
	// +private
	Mirror string
	// Platforms to build, e.g. linux/amd64.
	// +private
	Platforms []string
	// Offline: no module downloads, no Trivy DB updates, digest-pinned images only.
	// +private
	Offline bool
	// GOPROXY for module downloads; empty: Go's default.
	// +private
	Goproxy string
	// -X assignments (importpath.Name=template).
	// +private
	LinkVars []string
	// Port the service listens on in the container.
	// +private
	Port int
	// Argument of the binary that runs its health check, e.g. "health".
	// +private
	Healthcheck string
	// Project Dockerfile to build instead of goship's runtime image.
	// +private
	Dockerfile string
	// Severities that fail the scan gate.
	// +private
	ScanSeverity string
	// Trivy scanners.
	// +private
	Scanners string
	// Trivy DB repositories, in priority order.
	// +private
	TrivyDbRepository []string
	// Trivy Java DB repositories, in priority order.
	// +private
	TrivyJavaDbRepository []string
	// Extra CA certificates (PEM) trusted for registries.
	// +private
	RegistryCa *dagger.File
	// Registries reached over plain HTTP, by explicit opt-in.
	// +private
	PlainHttpRegistry []string
	// Commit SHA of the source.
	// +private
	Sha string
	// Git ref of the source.
	// +private
	Ref string
	// Default branch (gets the latest tag).
	// +private
	DefaultBranch string
	// Commit time, RFC 3339.
	// +private
	Created string
	// Source repository URL.
	// +private
	SourceURL string
	// Prefix of the cache volumes (Go modules, build cache, lint cache, Trivy DB).
	// +private
	CacheNamespace string
	// Seeds for empty cache volumes, as Caches exports them (see cacheSeed).
	// +private
	CacheFrom *dagger.Directory
	// Webhook URLs told about every deploy and rollback, on every target.
	// +private
	Notify []*dagger.Secret
	// The repository's signing policy file, relative to the source.
	// +private
	Policy string
	// A prebuilt image of goship's runner; empty: built from goship's source.
	// +private
	RunnerImage string
	// The Go image the runner is built with and runs in.
	// +private
	RunnerBuildImage string
	// The CI attempt whose calls share the test step's result (see testRun).
	// +private
	Attempt string
	// The constructor flags that differ from their defaults, for reproduce commands.
	// +private
	CallArgs []string

	// The main package as worked out within one call (see mainPkg).
	pkgOnce     sync.Once
	pkgResolved string
	pkgErr      error
	// The download step as built within one call (see goDeps).
	depsOnce sync.Once
	deps     *dagger.Container
	depsErr  error
}

// New prepares goship for a Go project.
func New(
	ctx context.Context,
	// The Go project to ship (a directory with go.mod, or a repository with the module in --dir). Of .git only the config is read, for the image's source label.
	// +defaultPath="/"
	// +ignore=[".git/*", "!.git/config", "bin", "dist", "reports", "node_modules", ".dagger", "**/*.test", ".goship-cache", ".engine-state"]
	source *dagger.Directory,
	// The Go module's directory inside the source, e.g. services/api in a monorepo; a go.work above it is honoured.
	// +optional
	dir string,
	// Go version; default: go.mod's toolchain line, else its go line.
	// +optional
	goVersion string,
	// Main package; default: the one ./cmd/<x>, else the root package when it is main.
	// +optional
	pkg string,
	// App name; default: the main package's directory name.
	// +optional
	app string,
	// Go build image (Debian-based: -race needs gcc); default: golang pinned by digest.
	// +optional
	goImage string,
	// golangci-lint v2 image; default pinned by digest.
	// +optional
	lintImage string,
	// Trivy image; default pinned by digest.
	// +optional
	trivyImage string,
	// Runtime base image; default: empty (scratch).
	// +optional
	runtimeBase string,
	// Registry prefix that replaces Docker Hub for every default image, e.g. registry.cn-hangzhou.aliyuncs.com/goship-mirror.
	// +optional
	mirror string,
	// Platforms to build; default linux/amd64.
	// +optional
	platforms []string,
	// Run without network: GOPROXY=off over the module cache, no Trivy DB update, digest-pinned images only.
	// +optional
	offline bool,
	// GOPROXY, e.g. https://goproxy.cn,direct in mainland China; default: Go's own.
	// +optional
	goproxy string,
	// Linker -X assignments; {{version}}, {{commit}} and {{date}} are filled in. Default: main.version={{version}}, main.commit={{commit}}, main.date={{date}}.
	// +optional
	linkVars []string,
	// Port the service listens on; default 8080.
	// +optional
	port int,
	// Argument that makes the binary check its own health (e.g. "health"); enables the image HEALTHCHECK.
	// +optional
	healthcheck string,
	// Build this Dockerfile of the project instead of goship's runtime image.
	// +optional
	dockerfile string,
	// Severities that fail the scan gate (scan, ci, dagger check); default HIGH,CRITICAL.
	// +optional
	scanSeverity string,
	// What Trivy scans for: vuln, secret, misconfig, license; default vuln,secret.
	// +optional
	scanners string,
	// Trivy DB repositories instead of Trivy's defaults (ghcr.io, mirror.gcr.io), in priority order, e.g. an ACR copy.
	// +optional
	trivyDbRepository []string,
	// Trivy Java DB repositories, in priority order.
	// +optional
	trivyJavaDbRepository []string,
	// Extra CA certificates (PEM) to trust for registries: publish, verification, credential checks and Trivy DB downloads.
	// +optional
	registryCa *dagger.File,
	// Registries (host[:port]) to reach over plain HTTP; refused for ACR.
	// +optional
	plainHttpRegistry []string,
	// Prefix of goship's cache volumes, which are global to the engine: another prefix gives a project (or a benchmark) caches of its own; default goship.
	// +optional
	cacheNamespace string,
	// Seeds goship's cache volumes from a directory that `caches` exported, for an engine that starts empty (an ephemeral CI runner); a seed fills a volume once, when it is created, and never overwrites one. Leave it out on a long-lived engine.
	// +optional
	cacheFrom *dagger.Directory,
	// Commit SHA of the source (CI passes $GITHUB_SHA); default 0000000, a local run.
	// +optional
	sha string,
	// Git ref of the source, e.g. refs/heads/main or refs/tags/v1.2.3.
	// +optional
	ref string,
	// Default branch, which gets the latest tag; default main.
	// +optional
	defaultBranch string,
	// Commit time, RFC 3339 (CI passes the commit's time; default: today 00:00 UTC, to keep caches warm).
	// +optional
	created string,
	// Source repository URL, for the image's org.opencontainers.image.source label.
	// +optional
	sourceURL string,
	// Names one CI attempt, e.g. $GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT: its calls share the test step's result (reports, then ci), and a re-run attempt runs the tests again. Default: calls share the test step's result until a run fails; the next call then runs the tests again, the way go test retries a failure (go's test cache answers for the packages that passed).
	// +optional
	attempt string,
	// Webhook URLs (secrets: they carry tokens) told about every deploy and rollback, on servers and clusters: DingTalk (add &secret=SEC… for signed mode), WeCom, Slack, or any URL for a JSON post.
	// +optional
	notify []*dagger.Secret,
	// The repository's signing policy (trusted keys, required attestations, gate age, allowed third-party images), relative to the source; default .goship/policy.yaml. With one, every deploy and rollback verifies every image it runs.
	// +optional
	policy string,
	// A prebuilt image of goship's runner (goship-runner at /usr/local/bin), e.g. a copy in your ACR; default: built once per engine from goship's own source with the Go image.
	// +optional
	runnerImage string,
) (*Goship, error) {
	// Each setting once: its flag as the user gave it (for reproduce
	// commands), its value, its default.
	var f ci.Flags
	g := &Goship{
		Source:    source,
		Dir:       f.String("dir", dir, ""),
		GoVersion: f.String("go-version", goVersion, ""),
		Pkg:       f.String("pkg", pkg, ""),
		App:       f.String("app", app, ""),
		// The images as given; resolveImages applies defaults and the mirror.
		GoImage:     f.String("go-image", goImage, ""),
		LintImage:   f.String("lint-image", lintImage, ""),
		TrivyImage:  f.String("trivy-image", trivyImage, ""),
		RuntimeBase: f.String("runtime-base", runtimeBase, ""),
		Mirror:      f.String("mirror", mirror, ""),
		Platforms:   f.Strings("platforms", platforms, gobuild.DefaultPlatforms()),
		Offline:     f.Bool("offline", offline),
		Goproxy:     f.Proxy("goproxy", goproxy),
		LinkVars:    f.Strings("link-vars", linkVars, gobuild.DefaultVars()),
		Port:        f.Int("port", port, project.DefaultPort),
		Healthcheck: f.String("healthcheck", healthcheck, ""),
		Dockerfile:  f.String("dockerfile", dockerfile, ""),

		ScanSeverity:          f.String("scan-severity", scanSeverity, scan.DefaultSeverities),
		Scanners:              f.String("scanners", scanners, scan.DefaultScanners),
		TrivyDbRepository:     f.Strings("trivy-db-repository", trivyDbRepository, nil),
		TrivyJavaDbRepository: f.Strings("trivy-java-db-repository", trivyJavaDbRepository, nil),
		RegistryCa:            ci.File(&f, "registry-ca", registryCa),
		PlainHttpRegistry:     f.Strings("plain-http-registry", plainHttpRegistry, nil),
		CacheNamespace:        f.String("cache-namespace", cacheNamespace, defaultCacheNamespace),
		// Not replayed: it changes how fast a run is, not what it finds,
		// and the runner's cache directory is not on the laptop.
		CacheFrom: cacheFrom,

		Sha:           f.String("sha", sha, release.NoCommit),
		Ref:           f.String("ref", ref, ""),
		DefaultBranch: f.String("default-branch", defaultBranch, release.DefaultBranch),
		Created:       f.String("created", created, ""),
		SourceURL:     f.String("source-url", sourceURL, ""),
		// Not replayed: a reproduction runs the tests itself.
		Attempt: attempt,

		// Not replayed: they carry tokens, and a laptop has no business
		// notifying the team's channels.
		Notify:      notify,
		Policy:      f.String("policy", policy, project.DefaultPolicyFile),
		RunnerImage: f.String("runner-image", runnerImage, ""),
	}
	g.CallArgs = f.Args()
	layout, err := readLayout(ctx, source, dir)
	if err != nil {
		return nil, err
	}
	g.Dir, g.ModulePath, g.DownloadFiles, g.Workspace = layout.Dir, layout.ModulePath, layout.DownloadFiles, layout.Workspace
	if g.GoVersion == "" {
		g.GoVersion = layout.GoVersion
	}
	if g.SourceURL == "" {
		g.SourceURL = gitRemoteURL(ctx, source)
	}
	if g.Created == "" {
		g.Created = time.Now().UTC().Truncate(24 * time.Hour).Format(time.RFC3339)
	}
	if _, err := time.Parse(time.RFC3339, g.Created); err != nil {
		return nil, fmt.Errorf("created %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", g.Created)
	}
	if !cacheNamespaceRE.MatchString(g.CacheNamespace) {
		return nil, fmt.Errorf("cache-namespace %q: use letters, digits, '-' and '_'", g.CacheNamespace)
	}
	if len(g.Platforms) == 0 {
		return nil, fmt.Errorf("platforms is empty: give at least one, e.g. --platforms=linux/amd64")
	}
	for _, p := range g.Platforms {
		if _, err := gobuild.ParsePlatform(p); err != nil {
			return nil, err
		}
	}
	if g.Port < 1 || g.Port > 65535 {
		return nil, fmt.Errorf("port %d: must be 1-65535", g.Port)
	}
	if _, err := gobuild.LDFlags(gobuild.Stamp{}, g.LinkVars); err != nil {
		return nil, err
	}
	if err := g.defaultScanPolicy().Validate(); err != nil {
		return nil, err
	}
	if err := (registry.Trust{PlainHTTP: plainHttpRegistry}).Validate(); err != nil {
		return nil, err
	}
	if err := g.resolveImages(goImage); err != nil {
		return nil, err
	}
	return g, nil
}

// defaultCacheNamespace prefixes goship's cache volumes unless
// --cache-namespace names another prefix.
const defaultCacheNamespace = "goship"

var cacheNamespaceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// resolveImages applies defaults and the mirror, and enforces digest pins
// offline (a tag would need the network to resolve).
func (g *Goship) resolveImages(goImage string) error {
	defaults := []struct {
		name     string
		given    string
		fallback string
		out      *string
	}{
		{"go-image", g.GoImage, image.GoImage(g.GoVersion), &g.GoImage},
		{"lint-image", g.LintImage, image.DefaultLint().Ref(), &g.LintImage},
		{"trivy-image", g.TrivyImage, image.DefaultTrivy().Ref(), &g.TrivyImage},
	}
	for _, d := range defaults {
		ref := d.given
		if ref == "" {
			var err error
			if ref, err = image.Mirror(d.fallback, g.Mirror); err != nil {
				return err
			}
		}
		if g.Offline && !image.IsDigestPinned(ref) {
			return fmt.Errorf("offline: %s %q is not pinned by digest, so it cannot be resolved without the network; pass --%s=<image>@sha256:…", d.name, ref, d.name)
		}
		*d.out = ref
	}
	// The runner needs goship's Go, not the project's: a --go-image is
	// taken as the way to reach Go images at all (GOTOOLCHAIN fetches a
	// newer Go when it is older).
	g.RunnerBuildImage = g.GoImage
	if goImage == "" {
		var err error
		if g.RunnerBuildImage, err = image.Mirror(image.DefaultGo().Ref(), g.Mirror); err != nil {
			return err
		}
	}
	if g.Offline && g.RuntimeBase != "" && !image.IsDigestPinned(g.RuntimeBase) {
		return fmt.Errorf("offline: runtime-base %q is not pinned by digest", g.RuntimeBase)
	}
	return nil
}

// runContext is the release context of this run.
func (g *Goship) runContext() release.Context {
	created, _ := time.Parse(time.RFC3339, g.Created)
	return release.Context{SHA: g.Sha, Ref: g.Ref, DefaultBranch: g.DefaultBranch, Time: created}
}

// defaultScanPolicy is the constructor's scan settings: what ci, dagger
// check and signing gate on.
func (g *Goship) defaultScanPolicy() scan.Policy {
	return scan.Policy{
		Severities:         scan.ParseList(strings.ToUpper(g.ScanSeverity)),
		Scanners:           scan.ParseList(strings.ToLower(g.Scanners)),
		IgnoreUnfixed:      true,
		DBRepositories:     g.TrivyDbRepository,
		JavaDBRepositories: g.TrivyJavaDbRepository,
		Offline:            g.Offline,
		CacheDir:           "/root/.cache/trivy",
		Timeout:            "15m",
	}
}

// goEnv is the Go toolchain with the project's modules downloaded and its
// source mounted at /src, working in the module's directory. The download
// step sees only the go.mod, go.sum and go.work files, so a source edit
// keeps it cached; the source is mounted, not copied, so no layer is
// written for it, and without .git, which the Go tools must not read.
func (g *Goship) goEnv(ctx context.Context) (*dagger.Container, error) {
	deps, err := g.goDeps(ctx)
	if err != nil {
		return nil, err
	}
	return deps.WithMountedDirectory("/src", g.code()), nil
}

// goDeps is the Go toolchain after the module download, with only the
// go.mod, go.sum and go.work files at /src. Those files are rebuilt from
// their contents: a directory taken from the source would carry the whole
// source's digest into the cache key, and any edit would redo the
// download.
func (g *Goship) goDeps(ctx context.Context) (*dagger.Container, error) {
	// lint, test and build all start from it: read the files once per call.
	g.depsOnce.Do(func() { g.deps, g.depsErr = g.buildDeps(ctx) })
	return g.deps, g.depsErr
}

// buildDeps builds the download step for goDeps.
func (g *Goship) buildDeps(ctx context.Context) (*dagger.Container, error) {
	modFiles := dag.Directory()
	for _, f := range g.DownloadFiles {
		data, err := g.Source.File(f).Contents(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		modFiles = modFiles.WithNewFile(f, data)
	}
	download := "go mod download"
	if g.Workspace {
		// go mod download looks workspace modules up as if published; in a
		// workspace the build downloads what it needs instead.
		download = "true"
	}
	if g.Offline {
		download += fmt.Sprintf(` || { echo "offline: the module cache (cache volume %s-gomod) lacks this project's modules; run once online" >&2; exit 1; }`, g.CacheNamespace)
	}
	return g.goTool(dag.Container().From(g.GoImage)).
		WithMountedDirectory("/src", modFiles).
		WithExec([]string{"sh", "-c", download}), nil
}

// code is the source without .git.
func (g *Goship) code() *dagger.Directory {
	return g.Source.WithoutDirectory(".git")
}

// moduleDir is the Go module's directory of the source.
func (g *Goship) moduleDir() *dagger.Directory {
	return g.Source.Directory(g.Dir)
}

// goTool mounts the shared Go caches and settings into any image with Go.
func (g *Goship) goTool(c *dagger.Container) *dagger.Container {
	c = c.
		WithMountedCache("/go/pkg/mod", g.cache("gomod")).
		WithMountedCache("/root/.cache/go-build", g.cache("gobuild")).
		WithEnvVariable("GOMODCACHE", "/go/pkg/mod").
		WithEnvVariable("GOCACHE", "/root/.cache/go-build").
		WithEnvVariable("GOFLAGS", "-mod=readonly").
		WithEnvVariable("GOTOOLCHAIN", "local").
		WithWorkdir(path.Join("/src", g.Dir))
	switch {
	case g.Offline:
		c = c.WithEnvVariable("GOPROXY", "off")
	case g.Goproxy != "":
		c = c.WithEnvVariable("GOPROXY", g.Goproxy)
	}
	return c
}

// withToolGC runs a Go tool (golangci-lint, the compiler; not the tests)
// with gobuild.ToolGCEnv for the memory of the engine's machine: less CPU
// on garbage collection, memory still bounded. The cgroup read is this
// module container's own, which may not show a limit set on the engine.
func withToolGC(c *dagger.Container) *dagger.Container {
	meminfo, _ := os.ReadFile("/proc/meminfo")
	limit, err := os.ReadFile("/sys/fs/cgroup/memory.max") // cgroup v2
	if err != nil {
		limit, _ = os.ReadFile("/sys/fs/cgroup/memory/memory.limit_in_bytes") // v1
	}
	for _, kv := range gobuild.ToolGCEnv(meminfo, string(limit)) {
		k, v, _ := strings.Cut(kv, "=")
		c = c.WithEnvVariable(k, v)
	}
	return c
}

// cache is goship's cache volume for what, in its namespace; with
// --cache-from, the one seeded from it (see cacheSeed).
func (g *Goship) cache(what string) *dagger.CacheVolume {
	return dag.CacheVolume(g.CacheNamespace+"-"+what, g.cacheSeed(what))
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// readLayout finds the Go module in dir of source, and the go.work that
// applies, from the tree's go.mod, go.sum and go.work files alone.
func readLayout(ctx context.Context, source *dagger.Directory, dir string) (project.Layout, error) {
	tree, cleanup, err := exportFiles(ctx, source, "**/go.mod", "**/go.sum", "**/go.work", "**/go.work.sum")
	if err != nil {
		return project.Layout{}, err
	}
	defer cleanup()
	return project.ReadLayout(os.DirFS(tree), dir)
}

// exportFiles copies the files of source matching patterns into a
// temporary directory of goship's own filesystem, where Go code can read
// them without a round trip per file.
func exportFiles(ctx context.Context, source *dagger.Directory, patterns ...string) (string, func(), error) {
	tmp, err := os.MkdirTemp("", "goship-src-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	tree := filepath.Join(tmp, "src")
	filtered := dag.Directory().WithDirectory("/", source, dagger.DirectoryWithDirectoryOpts{Include: patterns, Exclude: []string{".git"}})
	if _, err := filtered.Export(ctx, tree); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("read the source: %w", err)
	}
	return tree, cleanup, nil
}

// exportTemp writes f, as name, into a new temporary directory of
// goship's own filesystem and returns its path there.
func exportTemp(ctx context.Context, f *dagger.File, name string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "goship-export-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	path := filepath.Join(dir, name)
	if _, err := f.Export(ctx, path); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("export %s: %w", name, err)
	}
	return path, cleanup, nil
}

// moduleFile hands the engine data, generated here, as a file it holds by
// content. A large one (the JUnit report of a big suite) given as a
// literal (WithNewFile) would travel inside every ID built on it: ~175 ms
// for go-httpbin's 220 KB report. The path is named after the content, so
// the same report is the same file for the cache.
func moduleFile(ctx context.Context, name string, data []byte) (*dagger.File, error) {
	sum := sha256.Sum256(data)
	dir := filepath.Join("goship-files", hex.EncodeToString(sum[:12]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, name)
	// Written whole before it is named: a reader never sees half a file.
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	f := dag.CurrentModule().WorkdirFile(path)
	// Loaded now, while goship's filesystem (gone after the call) has it.
	if _, err := f.Sync(ctx); err != nil {
		return nil, fmt.Errorf("hand %s to the engine: %w", name, err)
	}
	return f, nil
}

// gitRemoteURL is the web address of the source's git remote, from its
// .git/config; "" when there is none.
func gitRemoteURL(ctx context.Context, source *dagger.Directory) string {
	// Asked first: a source without .git is normal (a tarball, a CI
	// checkout without history), not an error to show in every call.
	if ok, err := source.Exists(ctx, ".git/config"); err != nil || !ok {
		return ""
	}
	config, err := source.File(".git/config").Contents(ctx)
	if err != nil {
		return ""
	}
	return project.SourceURL([]byte(config))
}

// mainPkg is the main package to ship: --pkg, or the one the module's
// package clauses point at. Only the functions that build need it. It is
// worked out once per call, however many steps ask concurrently.
func (g *Goship) mainPkg(ctx context.Context) (string, error) {
	g.pkgOnce.Do(func() {
		if g.Pkg != "" {
			g.pkgResolved = g.Pkg
			return
		}
		tree, cleanup, err := exportFiles(ctx, g.moduleDir(), "**/*.go", "**/go.mod")
		if err != nil {
			g.pkgErr = err
			return
		}
		defer cleanup()
		mains, err := project.MainPackages(os.DirFS(tree))
		if err != nil {
			g.pkgErr = err
			return
		}
		g.pkgResolved, g.pkgErr = project.MainPackage(mains)
	})
	return g.pkgResolved, g.pkgErr
}

// appName is --app, or the main package's directory name, or for a
// library the module path's last element.
func (g *Goship) appName(ctx context.Context) (string, error) {
	if g.App != "" {
		return g.App, nil
	}
	pkg, err := g.mainPkg(ctx)
	switch {
	case errors.Is(err, project.ErrNoMainPackage):
		pkg = ""
	case err != nil:
		return "", fmt.Errorf("%w (or name the app with --app)", err)
	}
	return project.AppName(pkg, g.ModulePath), nil
}
