package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/job"
)

// The runner is goship's heavy half (SSH, registries, Kubernetes,
// signing, webhooks) as a binary in a container. Module code only gathers
// settings into a job.Job: it compiles in seconds on a cold engine, and
// the runner is built once per engine, by the first call that needs it.

// runnerPkg is the runner's main package in pipeline/, its Go module.
const runnerPkg = "./cmd/goship-runner"

// runnerBin is where the runner binary sits in its container.
const runnerBin = "/usr/local/bin/goship-runner"

// runnerSource is the part of goship's own source the runner is built
// from: its own Go module, pipeline/ (and the root go.mod its replace
// names). A README or module edit does not rebuild it.
var runnerSource = []string{"go.mod", "pipeline/go.mod", "pipeline/go.sum", "pipeline/**/*.go"}

// runner is the container the runner runs in: --runner-image as given, or
// goship's Go image with the runner built from goship's own source.
func (g *Goship) runner() *dagger.Container {
	if g.RunnerImage != "" {
		return dag.Container().From(g.RunnerImage)
	}
	src := dag.Directory().WithDirectory(".", dag.CurrentModule().Source(), dagger.DirectoryWithDirectoryOpts{
		Include: runnerSource,
		Exclude: []string{"**/*_test.go", "**/testdata/**", "pipeline/testworld"},
	})
	base := dag.Container().From(g.RunnerBuildImage)
	build := base.
		// goship's own caches, apart from the project's (--cache-namespace):
		// no project's code ever runs with them mounted.
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("goship-runner-gomod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("goship-runner-gobuild")).
		WithEnvVariable("GOFLAGS", "-mod=readonly").
		WithEnvVariable("CGO_ENABLED", "0").
		// A --go-image may be older than goship's go line: Go fetches the
		// toolchain goship needs through GOPROXY.
		WithEnvVariable("GOTOOLCHAIN", "auto").
		WithMountedDirectory("/src", src).
		WithWorkdir("/src/pipeline")
	switch {
	case g.Offline:
		build = build.WithEnvVariable("GOPROXY", "off")
	case g.Goproxy != "":
		build = build.WithEnvVariable("GOPROXY", g.Goproxy)
	}
	bin := build.WithExec([]string{"go", "build", "-trimpath", "-o", "/out/goship-runner", runnerPkg}).File("/out/goship-runner")
	return base.WithFile(runnerBin, bin, dagger.ContainerWithFileOpts{Permissions: 0o755})
}

// mounts are the secrets, files and directories a job refers to, each at
// a path of its own in the runner.
type mounts struct {
	secrets map[string]*dagger.Secret
	files   map[string]*dagger.File
	dirs    map[string]*dagger.Directory
}

// secret mounts s and returns its path ("" for no secret).
func (m *mounts) secret(name string, s *dagger.Secret) string {
	if s == nil {
		return ""
	}
	if m.secrets == nil {
		m.secrets = map[string]*dagger.Secret{}
	}
	p := m.path("secrets", name, len(m.secrets))
	m.secrets[p] = s
	return p
}

// file mounts f and returns its path ("" for no file).
func (m *mounts) file(name string, f *dagger.File) string {
	if f == nil {
		return ""
	}
	if m.files == nil {
		m.files = map[string]*dagger.File{}
	}
	p := m.path("files", name, len(m.files))
	m.files[p] = f
	return p
}

// dir mounts d and returns its path ("" for no directory).
func (m *mounts) dir(name string, d *dagger.Directory) string {
	if d == nil {
		return ""
	}
	if m.dirs == nil {
		m.dirs = map[string]*dagger.Directory{}
	}
	p := m.path("dirs", name, len(m.dirs))
	m.dirs[p] = d
	return p
}

func (m *mounts) path(kind, name string, n int) string {
	return "/goship/" + kind + "/" + strconv.Itoa(n) + "-" + name
}

// on mounts everything into c.
func (m *mounts) on(c *dagger.Container) *dagger.Container {
	for p, s := range m.secrets {
		c = c.WithMountedSecret(p, s)
	}
	for p, f := range m.files {
		c = c.WithMountedFile(p, f)
	}
	for p, d := range m.dirs {
		c = c.WithMountedDirectory(p, d)
	}
	return c
}

// run runs j in the runner and returns its result; a job that failed is
// an error with the runner's message. The runner's progress lines show on
// its stderr as it goes. Every run is new: a deploy is never a cache hit.
func (g *Goship) run(ctx context.Context, j job.Job, m *mounts) (job.Result, error) {
	if m == nil {
		m = &mounts{}
	}
	j.Run = g.jobRun(ctx, j.Run)
	j.Trust = job.Trust{CA: m.file("registry-ca.pem", g.RegistryCa), PlainHTTP: g.PlainHttpRegistry}
	for i, n := range g.Notify {
		j.Notify = append(j.Notify, m.secret("notify-"+strconv.Itoa(i), n))
	}
	data, err := j.Encode()
	if err != nil {
		return job.Result{}, err
	}
	c := m.on(g.runner()).
		WithNewFile("/goship/job.json", string(data)).
		WithEnvVariable("GOSHIP_JOB_AT", time.Now().UTC().Format(time.RFC3339Nano)).
		WithExec([]string{runnerBin, "/goship/job.json"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := c.ExitCode(ctx)
	if err != nil {
		return job.Result{}, fmt.Errorf("goship's runner did not run: %w", err)
	}
	out, err := c.Stdout(ctx)
	if err != nil {
		return job.Result{}, err
	}
	var res job.Result
	if jerr := json.Unmarshal([]byte(out), &res); jerr != nil || code != 0 && res.Error == "" {
		stderr, _ := c.Stderr(ctx)
		return job.Result{}, fmt.Errorf("goship's runner failed (exit %d): %s", code, lastLines(stderr, 20))
	}
	if res.Error != "" {
		return res, fmt.Errorf("%s", res.Error)
	}
	return res, nil
}

// jobRun fills what every job knows about this run.
func (g *Goship) jobRun(ctx context.Context, r job.Run) job.Run {
	if r.App == "" {
		// A job that needs the app fails in the runner, naming --app.
		r.App, _ = g.appName(ctx)
	}
	r.Version, r.Commit, r.Ref, r.Created = g.runContext().Version(), g.Sha, g.Ref, g.Created
	r.Who, r.Port, r.Mirror, r.Goship = g.who(), g.Port, g.Mirror, goshipVersion
	return r
}

// who names the deployer in records, deploys.log and notifications.
func (g *Goship) who() string {
	ref := g.Ref
	if ref == "" {
		ref = "local"
	}
	sha := g.Sha
	if len(sha) > 8 {
		sha = sha[:8]
	}
	return "goship " + ref + "@" + sha
}

// output is what a job returns to the user.
func output(res job.Result, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return res.Output, nil
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
