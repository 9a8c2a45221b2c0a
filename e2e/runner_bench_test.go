//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// BenchmarkFreshRunner is issue 21's table: ci on a CI runner whose Dagger
// engine starts empty, as a GitHub-hosted runner's does, against the same
// checks run natively with restored caches, in one run:
//
//	go test -tags e2e -run '^$' -bench FreshRunner -benchtime 1x -timeout 240m ./e2e/
//
// It simulates runners with engines of the kit (see runners), stopping
// the shared engine while it runs.
//
// Each project (hello-service, go-httpbin, and miniflux v2.3.5 from the Go
// module proxy as the larger real service; GOSHIP_BENCH_SOURCE names
// another) gets its own runners, as its repository's CI would:
//   - cold: engine A starts with an empty volume, loads goship and runs ci
//     with an empty --cache-from, as a runner's first run does;
//   - the caches then exported (`caches export`);
//   - warm: one file changed, ci again on A (a laptop);
//   - A's whole state archived (scripts/engine-state.sh save: pruned to its
//     bound, the engine stopped, the volume compressed), timed and sized;
//   - restored caches: engine B starts empty, one file changed, ci with
//     --cache-from=<A's export> (option a);
//   - restored state: engine C starts from A's archive (option b), one
//     file changed, ci.
//
// The natives are the YAML job with the same cache steps: golangci-lint,
// go test -race -coverprofile, the static build and Trivy (secret scanner,
// as goship's runs here: no vulnerability DB offline) on it: cold with
// empty GOCACHE, module cache, lint cache and Trivy cache; then those
// archived with tar (as actions/cache, setup-go and golangci-lint-action
// do), restored into a fresh directory, one file changed, and run again;
// and warm.
//
// The whole job (issue 31) is what a runner pays from start to end:
// restore, engine start, module load, ci, and the save on the runs that
// save (engine-state.sh skips it when nothing that feeds the state
// changed; setup-go's cache likewise saves only on a new key), next to the
// native job's untar, run and tar.
//
// Engine start and the module load (`dagger functions`: the Go SDK's
// codegen and compile of goship) are a runner's fixed cost, once per job;
// they are reported on their own and added to the job's totals.
//
// A fresh runner's disk has deleted nothing, but this machine's has (see
// runners.settle): so a project's three engines keep their volumes until
// all three are done, and each project starts after the disk has settled
// from the one before.
func BenchmarkFreshRunner(b *testing.B) {
	projects := benchProjects(b)
	b.Setenv("GOSHIP_E2E_ARGS", strings.Join(pinnedEngineArgs(b), " "))
	r := &runnerBench{runners: takeOverEngine(b), b: b, row: map[string]*runnerRow{}}
	for _, p := range projects {
		r.settle()
		r.row[p.name] = r.project(p)
	}
	// The natives, after the engines, on an idle machine as theirs were.
	r.settle()
	for _, p := range projects {
		r.native(p)
	}
	r.report(projects)
}

// project runs p's three runners, A, B and C; their engines and volumes
// are removed when all three are done.
func (r *runnerBench) project(p benchProject) *runnerRow {
	b, row := r.b, &runnerRow{}
	note := func(what string, d time.Duration) time.Duration { return r.note(p.name+" "+what, d) }

	// Runner A: cold, then warm; its caches exported, its state archived.
	a := r.start(p.name+"-a", "")
	row.startA = note("engine start (A, empty)", a.started)
	row.loadA = note("module load (A, empty)", r.timed(a, "", "functions"))
	edit(b, p.edit)
	row.cold = note("cold ci (A)", r.ci(a, p.src, p.empty))
	exported := filepath.Join(b.TempDir(), "caches")
	row.export = note("caches export (A)", r.timed(a, p.src, "--cache-from="+p.empty, "caches", "export", "--path="+exported, "--wipe"))
	row.exported, row.exportDir = dirSize(exported), exported
	edit(b, p.edit)
	row.warm = note("warm ci (A)", r.ci(a, p.src, p.empty))
	archive := b.TempDir()
	start := time.Now()
	r.engineState(a, "save", archive)
	row.save = note("engine state save (A)", time.Since(start))
	row.archived = dirSize(archive)

	// Runner B: empty engine, goship's caches restored (option a).
	bb := r.start(p.name+"-b", "")
	row.startB = note("engine start (B, empty)", bb.started)
	row.loadB = note("module load (B, empty)", r.timed(bb, "", "functions"))
	edit(b, p.edit)
	row.cacheFrom = note("restored caches ci (B)", r.ci(bb, p.src, row.exportDir))
	r.stop(bb)

	// Runner C: the engine's state restored from A's archive (option b).
	cc := r.start(p.name+"-c", archive)
	row.restore = note("state restore (C)", cc.restored)
	row.startC = note("engine start (C, restored)", cc.started)
	row.loadC = note("module load (C, restored)", r.timed(cc, "", "functions"))
	edit(b, p.edit)
	row.state = note("restored state ci (C)", r.ci(cc, p.src, p.empty))
	for _, e := range []*engine{a, bb, cc} {
		r.discard(e)
	}
	if err := os.RemoveAll(archive); err != nil {
		b.Logf("removing %s: %v", archive, err)
	}
	return row
}

// benchProject is one Go project in the table: a private copy, the file
// the benchmark edits, and an empty cache directory for --cache-from.
type benchProject struct{ name, src, edit, empty string }

func benchProjects(b *testing.B) []benchProject {
	origins := []string{filepath.Join(testworld.RepoRoot(b), "examples", "hello-service"), realWorldService(b), largerService(b)}
	if o := os.Getenv("GOSHIP_BENCH_SOURCE"); o != "" {
		origins = []string{o}
	}
	var ps []benchProject
	for _, o := range origins {
		src := filepath.Join(b.TempDir(), filepath.Base(o))
		if out, err := exec.Command("cp", "-r", o, src).CombinedOutput(); err != nil {
			b.Fatalf("copy %s: %v %s", o, err, out)
		}
		// Module zips are read-only; the benchmark edits its copy.
		if out, err := exec.Command("chmod", "-R", "u+w", src).CombinedOutput(); err != nil {
			b.Fatalf("chmod %s: %v %s", src, err, out)
		}
		empty := filepath.Join(src, ".goship-cache") // on goship's source ignore list, as in the workflow
		if err := os.MkdirAll(empty, 0o755); err != nil {
			b.Fatal(err)
		}
		name := strings.SplitN(filepath.Base(o), "@", 2)[0]
		ps = append(ps, benchProject{name: name, src: src, edit: editTarget(b, src), empty: empty})
	}
	return ps
}

// largerService is miniflux (84k lines of Go, a feed reader service with
// its own golangci-lint v2 config), from the Go module proxy.
func largerService(b *testing.B) string {
	out, err := exec.Command("go", "mod", "download", "-json", "miniflux.app/v2@v2.3.5").Output()
	if err != nil {
		b.Fatalf("go mod download miniflux.app/v2@v2.3.5: %v", err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		b.Fatalf("go mod download miniflux.app/v2@v2.3.5: %v %s %s", err, m.Error, out)
	}
	return m.Dir
}

// runnerRow is one project's timings.
type runnerRow struct {
	startA, loadA, startB, loadB, restore, startC, loadC, save time.Duration
	cold, export, warm, cacheFrom, state                       time.Duration
	exported, archived                                         int64
	exportDir                                                  string
	nativeCold, nativeSave, nativeRestore, nativeRe            time.Duration
	nativeWarm                                                 time.Duration
	nativeArchive                                              int64
}

type runnerBench struct {
	*runners
	b   *testing.B
	row map[string]*runnerRow
}

// ci is goship's ci on e, the caches seeded from dir; a project's
// timing-sensitive test failing under load is measured once more.
func (r *runnerBench) ci(e *engine, src, dir string) time.Duration {
	for attempt := 0; ; attempt++ {
		res := r.call(e, src, "--scanners=secret", "--cache-from="+dir, "ci")
		if res.err == nil {
			return res.took
		}
		if attempt == 0 && flakedInUpstreamTests(res) {
			r.b.Logf("a timing-sensitive test of %s failed under load; measured once more:\n%s", filepath.Base(src), tail(res.out, 1500))
			continue
		}
		r.b.Fatalf("goship ci on %s (engine %s): %v\n%s", filepath.Base(src), e.name, res.err, tail(res.out, 3000))
	}
}

// note prints one figure as soon as it is measured (a long run that
// fails later keeps what it measured) and returns it.
func (r *runnerBench) note(what string, d time.Duration) time.Duration {
	fmt.Printf("fresh runner: %s: %.1f s\n", what, d.Seconds())
	return d
}

// native measures the project's checks natively: cold, then the caches
// archived and restored into a fresh directory and one file changed, then
// warm.
func (r *runnerBench) native(p benchProject) {
	b, row := r.b, r.row[p.name]
	lint, trivy := testworld.Tool(b, "golangci-lint"), testworld.Tool(b, "trivy")
	cold := filepath.Join(b.TempDir(), "caches")
	run := func(dir string) time.Duration {
		env := append(os.Environ(), "GOCACHE="+filepath.Join(dir, "go-build"), "GOMODCACHE="+filepath.Join(dir, "mod"),
			"GOLANGCI_LINT_CACHE="+filepath.Join(dir, "lint"), "GOFLAGS=-modcacherw",
			// The engine's module proxy, which goship's calls use too.
			"GOPROXY="+strings.TrimPrefix(goproxyArg(), "--goproxy="))
		out := b.TempDir()
		script := `go mod download && ` + lint + ` run ./... && go test -race -covermode=atomic -coverprofile=` + filepath.Join(out, "cover.out") +
			` ./... >/dev/null && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o ` + filepath.Join(out, "bin", "app") + ` ` + mainPackage(p.src) +
			` && ` + trivy + ` rootfs --quiet --scanners secret --exit-code 1 --cache-dir ` + filepath.Join(dir, "trivy") + ` ` + filepath.Join(out, "bin")
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
			cmd := exec.CommandContext(ctx, "sh", "-c", script)
			cmd.Dir, cmd.Env = p.src, env
			start := time.Now()
			o, err := cmd.CombinedOutput()
			took := time.Since(start)
			cancel()
			if err == nil {
				return took
			}
			if attempt == 0 && strings.Contains(string(o), "--- FAIL") {
				b.Logf("native %s: a test failed under load; measured once more:\n%s", p.name, tail(string(o), 1500))
				continue
			}
			b.Fatalf("native %s: %v\n%s", p.name, err, tail(string(o), 3000))
		}
	}
	edit(b, p.edit)
	row.nativeCold = run(cold)
	// actions/cache: tar the directories, then untar on the next runner.
	tarball := filepath.Join(b.TempDir(), "native.tar")
	start := time.Now()
	if out, err := exec.Command("tar", "-C", cold, "-cf", tarball, ".").CombinedOutput(); err != nil {
		b.Fatalf("tar: %v %s", err, out)
	}
	row.nativeSave = time.Since(start)
	if fi, err := os.Stat(tarball); err == nil {
		row.nativeArchive = fi.Size()
	}
	restored := filepath.Join(b.TempDir(), "caches")
	if err := os.MkdirAll(restored, 0o755); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if out, err := exec.Command("tar", "-C", restored, "-xf", tarball).CombinedOutput(); err != nil {
		b.Fatalf("untar: %v %s", err, out)
	}
	row.nativeRestore = time.Since(start)
	edit(b, p.edit)
	row.nativeRe = run(restored)
	edit(b, p.edit)
	row.nativeWarm = run(restored)
}

// goproxyArg is the --goproxy flag of the engine's arguments.
func goproxyArg() string {
	for _, a := range engineArgs() {
		if strings.HasPrefix(a, "--goproxy=") {
			return a
		}
	}
	return "--goproxy=https://proxy.golang.org,direct"
}

func (r *runnerBench) report(ps []benchProject) {
	b := r.b
	var t strings.Builder
	fmt.Fprintf(&t, "\nfresh runner, one run (s; one file changed unless cold)\n")
	fmt.Fprintf(&t, "| project | engine start A/B/C | module load A/B/C | state save (A), archive | state restore (C) |\n|---|---|---|---|---|\n")
	for _, p := range ps {
		w := r.row[p.name]
		fmt.Fprintf(&t, "| %s | %.1f / %.1f / %.1f | %.1f / %.1f / %.1f | %.1f, %s | %.1f |\n", p.name,
			w.startA.Seconds(), w.startB.Seconds(), w.startC.Seconds(), w.loadA.Seconds(), w.loadB.Seconds(), w.loadC.Seconds(),
			w.save.Seconds(), mib(w.archived), w.restore.Seconds())
	}
	fmt.Fprintf(&t, "\n| project | cold (start+load+ci) | restored caches (start+load+ci) | restored state (restore+start+load+ci) | warm engine | native cold | native restored (untar+run) | native warm | restored state ÷ native restored | restore+save ÷ cold, goship state | native |\n")
	fmt.Fprintf(&t, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range ps {
		w := r.row[p.name]
		j := w.jobs()
		stateShare := 100 * (w.restore + w.save).Seconds() / j.cold.Seconds()
		fmt.Fprintf(&t, "| %s | %.0f (ci %.1f) | %.0f (ci %.1f) | %.0f (ci %.1f) | %.1f | %.1f | %.1f (%.1f + %.1f) | %.1f | %.2f× | %.0f%% | %.0f%% |\n",
			p.name, j.cold.Seconds(), w.cold.Seconds(), j.caches.Seconds(), w.cacheFrom.Seconds(), j.state.Seconds(), w.state.Seconds(),
			w.warm.Seconds(), w.nativeCold.Seconds(), j.native.Seconds(), w.nativeRestore.Seconds(), w.nativeRe.Seconds(), w.nativeWarm.Seconds(),
			j.state.Seconds()/j.native.Seconds(), stateShare,
			100*(w.nativeRestore+w.nativeSave).Seconds()/w.nativeCold.Seconds())
		fmt.Fprintf(&t, "  %s: caches export %.1f s, %s; native archive %s, tar %.1f s\n", p.name, w.export.Seconds(), mib(w.exported), mib(w.nativeArchive), w.nativeSave.Seconds())
		b.ReportMetric(j.state.Seconds()/j.native.Seconds(), p.name+"-state-vs-native-ratio")
		b.ReportMetric(j.caches.Seconds()/j.native.Seconds(), p.name+"-caches-vs-native-ratio")
		b.ReportMetric(stateShare, p.name+"-state-restore+save-%-of-cold")
	}
	// The whole job, as a runner pays it, with and without the save.
	fmt.Fprintf(&t, "\nwhole job, one file changed (s): a run that saves nothing | a run that saves\n")
	fmt.Fprintf(&t, "| project | goship, engine state: restore + start + load + ci | + save | goship's caches only: start + load + ci | + export | native YAML job: untar + run | + tar | state ÷ native (no save / save) | fastest goship path |\n")
	fmt.Fprintf(&t, "|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range ps {
		w := r.row[p.name]
		j := w.jobs()
		fastest := "engine state"
		if j.caches < j.state {
			fastest = "goship's caches"
		}
		fmt.Fprintf(&t, "| %s | %.1f (%.1f + %.1f + %.1f + %.1f) | %.1f | %.1f | %.1f | %.1f (%.1f + %.1f) | %.1f | %.2f× / %.2f× | %s |\n", p.name,
			j.state.Seconds(), w.restore.Seconds(), w.startC.Seconds(), w.loadC.Seconds(), w.state.Seconds(), (j.state + w.save).Seconds(),
			j.caches.Seconds(), (j.caches + w.export).Seconds(),
			j.native.Seconds(), w.nativeRestore.Seconds(), w.nativeRe.Seconds(), (j.native + w.nativeSave).Seconds(),
			j.state.Seconds()/j.native.Seconds(), (j.state+w.save).Seconds()/(j.native+w.nativeSave).Seconds(), fastest)
		b.ReportMetric((j.state+w.save).Seconds()/(j.native+w.nativeSave).Seconds(), p.name+"-state-job-with-save-vs-native")
	}
	b.Log(t.String())
	fmt.Print(t.String())
}

// runnerJobs are one project's jobs, each from its runner's start to its
// last call, without any save.
type runnerJobs struct{ cold, caches, state, native time.Duration }

func (w *runnerRow) jobs() runnerJobs {
	return runnerJobs{
		cold:   w.startA + w.loadA + w.cold,
		caches: w.startB + w.loadB + w.cacheFrom,
		state:  w.restore + w.startC + w.loadC + w.state,
		native: w.nativeRestore + w.nativeRe,
	}
}

// edit appends a new exported constant to file: a change neither side has
// seen.
func edit(b testing.TB, file string) {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	n := time.Now().UnixNano()
	_, _ = fmt.Fprintf(f, "\n// Edit%d is a benchmark edit.\nconst Edit%d = %d\n", n, n, n)
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
