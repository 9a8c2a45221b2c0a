//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// BenchmarkColdLoad is issue 31's cold module load: a fresh engine's first
// `dagger call -m <module> --help`, for the floor (e2e/testdata/
// coldload-floor: a Go SDK module whose code imports nothing but its
// generated bindings) and for goship (GOSHIP_COLDLOAD_MODULE names another
// module directory), each on an engine of the kit started with a new,
// empty state volume (see runners; the shared engine stops meanwhile):
//
//	flock /work/notes/engine.lock go test -tags e2e -run '^$' -bench ColdLoad -benchtime 1x -timeout 90m ./e2e/
//
// In Dagger v0.21 `call --help` (and `functions`) needs only the module's
// type definitions, which the Go SDK reads from the source (`codegen
// generate-typedefs`, a go/packages type-check of the module and its
// dependencies); the first call of a function also builds the module's
// runtime (`codegen generate-module`, which runs `go mod tidy`, then `go
// build`). So each fresh engine first runs `dagger functions` (the same
// load as `call --help`, whose progress output hides the steps), then
// `call --eager-runtime --help`, which builds the runtime: what the first
// real call adds.
//
// Where goship's excess over the floor goes, two ways:
//   - by the engine's own step times (plain progress with --debug, which
//     names each container command): type definitions, codegen, go build,
//     other commands, and the rest of the call (the session, the SDK
//     image, the source upload, the schema);
//   - the compile by package: the module's generated source (`dagger
//     develop` on a copy) built here with an empty GOCACHE and
//     -debug-actiongraph, as the SDK builds it (`go build -ldflags "-s
//     -w"`); a dependency's share is the compile CPU of its packages and
//     of every package only it brings in.
func BenchmarkColdLoad(b *testing.B) {
	root := testworld.RepoRoot(b)
	goshipDir := root
	if m := os.Getenv("GOSHIP_COLDLOAD_MODULE"); m != "" {
		goshipDir = m
	}
	floor := copyFloor(b)
	r := takeOverEngine(b)
	mods := []struct{ name, dir string }{{"floor", floor}, {"goship", goshipDir}}
	loads := map[string]coldLoad{}
	var engines []*engine
	for i, m := range mods {
		if i > 0 {
			r.stop(engines[i-1]) // one engine at a time here; its volume stays until the end
		}
		e := r.start("load-"+m.name, "")
		engines = append(engines, e)
		for _, c := range []struct {
			step string
			args []string
		}{{"help", []string{"functions", "--progress=plain", "--debug"}}, {"runtime", []string{"call", "--progress=plain", "--debug", "--eager-runtime", "--help"}}} {
			// The progress flags before --help: after it, the CLI shows no steps.
			res := r.callModule(e, m.dir, c.args...)
			if res.err != nil {
				b.Fatalf("cold load of %s (%s): %v\n%s", m.name, c.step, res.err, tail(res.out, 4000))
			}
			l := readColdLoad(res.out)
			l.wall = res.took
			loads[m.name+" "+c.step] = l
			fmt.Printf("cold load: %s, %s: %s\n", m.name, c.step, l)
			if (c.step == "help" && l.typedefs == 0) || (c.step == "runtime" && l.build == 0) {
				b.Fatalf("cold load of %s (%s): the step it needs did not run (the engine did not start empty, or the progress output changed):\n%s", m.name, c.step, tail(res.out, 4000))
			}
		}
	}
	// The compile by package, from the sources the engine generated (on the
	// last engine, warm by now), built here.
	costs := map[string]compileCost{}
	for _, m := range mods {
		dev := developedCopy(b, r, engines[len(engines)-1], m.dir)
		costs[m.name] = measureCompile(b, dev)
		fmt.Printf("compile here: %s: %s\n", m.name, costs[m.name])
	}
	for _, e := range engines {
		r.discard(e)
	}
	reportColdLoad(b, loads, costs)
}

// copyFloor is the floor module in a directory of its own (the engine
// writes its generated bindings beside it).
func copyFloor(b *testing.B) string {
	src := filepath.Join(testworld.RepoRoot(b), "e2e", "testdata", "coldload-floor")
	dst := filepath.Join(b.TempDir(), "floor")
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		b.Fatalf("copy the floor module: %v %s", err, out)
	}
	return dst
}

// callModule runs `dagger <args[0]> -m module <args[1:]…>` on e.
func (r *runners) callModule(e *engine, module string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	full := append([]string{args[0], "-m", module}, args[1:]...)
	cmd := exec.CommandContext(ctx, "dagger", full...)
	cmd.Dir, cmd.Env = module, append(os.Environ(), e.env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	return result{out: string(out), err: err, took: time.Since(start)}
}

// coldLoad is one cold module load, by the engine's step times.
type coldLoad struct {
	wall                     time.Duration // the whole dagger call
	typedefs, codegen, build time.Duration // the Go SDK's three container commands
	otherExecs               time.Duration // any other container command that ran
}

func (l coldLoad) rest() time.Duration {
	return l.wall - l.codegen - l.build - l.typedefs - l.otherExecs
}

func (l coldLoad) String() string {
	return fmt.Sprintf("%.1f s: type definitions %.1f s, codegen %.1f s, go build %.1f s, other commands %.1f s, rest %.1f s",
		l.wall.Seconds(), l.typedefs.Seconds(), l.codegen.Seconds(), l.build.Seconds(), l.otherExecs.Seconds(), l.rest().Seconds())
}

// readColdLoad reads plain progress with --debug: a container command's
// span prints its arguments ("withExec codegen generate-typedefs …",
// "withExec go build …"), and the command's run is its next child span,
// "resume withExec", which ends with "resume withExec DONE [14.0s]" (the
// parent's own "Container.withExec DONE" lines are interim). Spans are
// told apart by their number, the first column.
func readColdLoad(out string) coldLoad {
	runs := map[string]string{} // "resume withExec" span -> the command's kind
	took := map[string]time.Duration{}
	last := ""
	for _, l := range strings.Split(stripANSI(out), "\n") {
		id, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		id = strings.TrimSpace(id)
		// With --debug the span's trace id follows, then the tree.
		if _, after, ok := strings.Cut(rest, ": "); ok {
			rest = after
		}
		text := strings.TrimLeft(rest, " ┆")
		switch {
		case strings.HasPrefix(text, "withExec "):
			last = execKind(strings.TrimPrefix(text, "withExec "))
		case text == "resume withExec":
			if _, seen := runs[id]; !seen && last != "" {
				runs[id] = last
			}
		case strings.HasPrefix(text, "resume withExec DONE ["):
			if d, err := time.ParseDuration(strings.TrimSuffix(strings.TrimPrefix(text, "resume withExec DONE ["), "]")); err == nil {
				took[id] = d
			}
		}
	}
	var l coldLoad
	for id, kind := range runs {
		switch kind {
		case "typedefs":
			l.typedefs += took[id]
		case "codegen":
			l.codegen += took[id]
		case "build":
			l.build += took[id]
		default:
			l.otherExecs += took[id]
		}
	}
	return l
}

// execKind tells which of the Go SDK's container commands args are.
func execKind(args string) string {
	switch {
	case strings.HasPrefix(args, "codegen generate-typedefs"):
		return "typedefs"
	case strings.HasPrefix(args, "codegen generate-module"):
		return "codegen"
	case strings.HasPrefix(args, "go build"):
		return "build"
	}
	return "other"
}

// developedCopy is a copy of the module in dir with the bindings the
// engine generates for it (`dagger develop`), to build here.
func developedCopy(b *testing.B, r *runners, e *engine, dir string) string {
	dst := filepath.Join(b.TempDir(), filepath.Base(dir))
	files, err := exec.Command("git", "-C", dir, "ls-files", "-co", "--exclude-standard").Output()
	if err != nil || len(files) == 0 {
		// Not a git checkout (the floor's copy): all of it.
		if out, err := exec.Command("cp", "-r", dir, dst).CombinedOutput(); err != nil {
			b.Fatalf("copy %s: %v %s", dir, err, out)
		}
	} else {
		for _, f := range strings.Split(strings.TrimSpace(string(files)), "\n") {
			if strings.HasPrefix(f, "e2e/") || strings.HasPrefix(f, "examples/") || strings.HasPrefix(f, "bench/") || strings.HasPrefix(f, "tools/") {
				continue // outside the module source, and large
			}
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				continue // deleted in the work tree
			}
			target := filepath.Join(dst, f)
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(target, data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	res := r.callModule(e, dst, "develop")
	if res.err != nil {
		b.Fatalf("dagger develop on a copy of %s: %v\n%s", dir, res.err, tail(res.out, 3000))
	}
	return dst
}

// heavyDeps are the dependencies issue 31 asks about, by import path
// prefix.
var heavyDeps = []struct {
	name     string
	prefixes []string
}{
	{"client-go (k8s.io, sigs.k8s.io)", []string{"k8s.io/", "sigs.k8s.io/"}},
	{"sigstore", []string{"github.com/sigstore/"}},
	{"go-containerregistry", []string{"github.com/google/go-containerregistry/"}},
	{"x/crypto/ssh", []string{"golang.org/x/crypto/ssh"}},
}

// compileCost is one module's build here with an empty GOCACHE.
type compileCost struct {
	wall, cpu, link time.Duration
	pkgs            int
	exclusive       map[string]time.Duration // compile CPU only a dependency brings in
	heavyPkgs       map[string]int
	allHeavy        time.Duration // the same for the heavy dependencies together
}

func (c compileCost) String() string {
	var parts []string
	for _, h := range heavyDeps {
		if c.heavyPkgs[h.name] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.1f CPU-s (%d pkgs)", h.name, c.exclusive[h.name].Seconds(), c.heavyPkgs[h.name]))
		}
	}
	return fmt.Sprintf("%d packages, %.1f s wall, %.1f CPU-s compile, link %.1f s; only through: %s; all of them %.1f CPU-s",
		c.pkgs, c.wall.Seconds(), c.cpu.Seconds(), c.link.Seconds(), strings.Join(parts, ", "), c.allHeavy.Seconds())
}

// goAction is what measureCompile reads of -debug-actiongraph.
type goAction struct {
	ID               int
	Mode, Package    string
	Deps             []int
	CmdReal, CmdUser int64
	CmdSys           int64
}

// measureCompile builds the module in dir as the Go SDK does, with an
// empty build cache (modules downloaded first, not timed).
func measureCompile(b *testing.B, dir string) compileCost {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		b.Fatal(err)
	}
	modPath := modfile.ModulePath(gomod)
	// The module alone, as the engine builds it: no go.work beside it.
	env := append(os.Environ(), "GOCACHE="+b.TempDir(), "GOFLAGS=-mod=mod", "GOWORK=off")
	dl := exec.Command("go", "mod", "download")
	dl.Dir, dl.Env = dir, env
	if out, err := dl.CombinedOutput(); err != nil {
		b.Fatalf("go mod download in %s: %v\n%s", dir, err, out)
	}
	graph := filepath.Join(b.TempDir(), "actions.json")
	cmd := exec.Command("go", "build", "-ldflags", "-s -w", "-debug-actiongraph="+graph, "-o", filepath.Join(b.TempDir(), "runtime"), ".")
	cmd.Dir, cmd.Env = dir, env
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build in %s: %v\n%s", dir, err, out)
	}
	c := compileCost{wall: time.Since(start), exclusive: map[string]time.Duration{}, heavyPkgs: map[string]int{}}
	data, err := os.ReadFile(graph)
	if err != nil {
		b.Fatal(err)
	}
	var actions []goAction
	if err := json.Unmarshal(data, &actions); err != nil {
		b.Fatalf("reading the action graph: %v", err)
	}
	byID := map[int]goAction{}
	for _, a := range actions {
		byID[a.ID] = a
		switch a.Mode {
		case "build":
			c.pkgs++
			c.cpu += time.Duration(a.CmdUser + a.CmdSys)
		case "link":
			c.link = time.Duration(a.CmdReal)
		}
	}
	in := func(pkg string, prefixes []string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(pkg, p) {
				return true
			}
		}
		return false
	}
	var all []string
	for _, h := range heavyDeps {
		all = append(all, h.prefixes...)
		cpu, n := exclusiveCPU(actions, byID, modPath, func(p string) bool { return in(p, h.prefixes) })
		c.exclusive[h.name], c.heavyPkgs[h.name] = cpu, n
	}
	c.allHeavy, _ = exclusiveCPU(actions, byID, modPath, func(p string) bool { return in(p, all) })
	return c
}

// exclusiveCPU is the compile CPU of the packages that cut selects and of
// every package that is no longer imported once they are gone (reached
// from the main package only through them), and how many cut selects.
func exclusiveCPU(actions []goAction, byID map[int]goAction, mainPkg string, cut func(string) bool) (time.Duration, int) {
	reached := map[int]bool{}
	var walk func(id int)
	walk = func(id int) {
		a := byID[id]
		if reached[id] || a.Mode != "build" || cut(a.Package) {
			return
		}
		reached[id] = true
		for _, d := range a.Deps {
			walk(d)
		}
	}
	for _, a := range actions {
		if a.Mode == "build" && a.Package == mainPkg {
			walk(a.ID)
		}
	}
	var cpu time.Duration
	n := 0
	for _, a := range actions {
		if a.Mode != "build" || reached[a.ID] {
			continue
		}
		cpu += time.Duration(a.CmdUser + a.CmdSys)
		if cut(a.Package) {
			n++
		}
	}
	return cpu, n
}

func reportColdLoad(b *testing.B, loads map[string]coldLoad, costs map[string]compileCost) {
	var t strings.Builder
	fmt.Fprintf(&t, "\ncold module load on an empty engine, one run (s)\n")
	fmt.Fprintf(&t, "| module, call | wall | type definitions | codegen (+ go mod tidy) | go build | other commands | rest |\n|---|---|---|---|---|---|---|\n")
	row := func(name string, l coldLoad) {
		fmt.Fprintf(&t, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name, l.wall.Seconds(), l.typedefs.Seconds(), l.codegen.Seconds(), l.build.Seconds(), l.otherExecs.Seconds(), l.rest().Seconds())
	}
	for _, step := range []string{"help", "runtime"} {
		f, g := loads["floor "+step], loads["goship "+step]
		label := map[string]string{"help": "`functions` (= `call --help`)", "runtime": "then `call --eager-runtime --help`"}[step]
		row("floor, "+label, f)
		row("goship, "+label, g)
		fmt.Fprintf(&t, "| excess | %+.1f | %+.1f | %+.1f | %+.1f | %+.1f | %+.1f |\n", (g.wall - f.wall).Seconds(), (g.typedefs - f.typedefs).Seconds(),
			(g.codegen - f.codegen).Seconds(), (g.build - f.build).Seconds(), (g.otherExecs - f.otherExecs).Seconds(), (g.rest() - f.rest()).Seconds())
	}
	fmt.Fprintf(&t, "\ncompile here, empty GOCACHE (CPU-s of compile actions; a dependency's share includes what only it brings in)\n")
	fmt.Fprintf(&t, "| module | packages | wall | compile CPU | link |")
	for _, h := range heavyDeps {
		fmt.Fprintf(&t, " %s |", h.name)
	}
	fmt.Fprintf(&t, " all four |\n|---|---|---|---|---|")
	for range heavyDeps {
		fmt.Fprintf(&t, "---|")
	}
	fmt.Fprintf(&t, "---|\n")
	names := make([]string, 0, len(costs))
	for n := range costs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := costs[n]
		fmt.Fprintf(&t, "| %s | %d | %.1f | %.1f | %.1f |", n, c.pkgs, c.wall.Seconds(), c.cpu.Seconds(), c.link.Seconds())
		for _, h := range heavyDeps {
			fmt.Fprintf(&t, " %.1f (%d pkgs) |", c.exclusive[h.name].Seconds(), c.heavyPkgs[h.name])
		}
		fmt.Fprintf(&t, " %.1f |\n", c.allHeavy.Seconds())
	}
	fh, gh := loads["floor help"], loads["goship help"]
	fr, gr := loads["floor runtime"], loads["goship runtime"]
	b.ReportMetric(gh.wall.Seconds(), "goship-help-s")
	b.ReportMetric(fh.wall.Seconds(), "floor-help-s")
	b.ReportMetric((gh.wall - fh.wall).Seconds(), "help-excess-s")
	b.ReportMetric((gh.wall + gr.wall - fh.wall - fr.wall).Seconds(), "help+runtime-excess-s")
	b.Log(t.String())
	fmt.Print(t.String())
}
