//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// runners simulates CI runners on this machine: engines of the kit
// (../shared/engine, or GOSHIP_ENGINE_KIT) started under other names and
// with new state volumes, as a GitHub-hosted runner's engine starts empty.
// Only one engine can run here at a time (one bridge and address range),
// so the shared engine stops while they run and starts again after.
type runners struct {
	t         testing.TB
	kit       string
	stamp     int64
	discarded time.Time // when a volume was last removed
}

// takeOverEngine returns the runners, with the shared engine stopped until
// t ends; t skips when there is no engine kit.
func takeOverEngine(t testing.TB) *runners {
	kit := os.Getenv("GOSHIP_ENGINE_KIT")
	if kit == "" {
		kit = filepath.Join(testworld.RepoRoot(t), "..", "shared", "engine")
	}
	if _, err := os.Stat(filepath.Join(kit, "up.sh")); err != nil {
		t.Skipf("ENGINE UNAVAILABLE: no engine kit at %s", kit)
	}
	r := &runners{t: t, kit: kit, stamp: time.Now().Unix()}
	shared := "dagger-engine-local"
	r.docker("stop", "-t", "60", shared)
	t.Cleanup(func() {
		cmd := exec.Command("bash", filepath.Join(kit, "up.sh"))
		cmd.Env = append(os.Environ(), "GOSHIP_TOOLS=skip")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("starting the shared engine again: %v\n%s", err, tail(string(out), 2000))
		}
	})
	return r
}

// engine is one simulated runner's engine.
type engine struct {
	name, volume      string
	env               []string
	started, restored time.Duration
}

// start brings up an engine with a new state volume, restored first from
// the engine-state archive in dir when dir is set.
func (r *runners) start(id, dir string) *engine {
	t := r.t
	e := &engine{name: fmt.Sprintf("goship-runner-%s", id), volume: fmt.Sprintf("goship-runner-%s-%d", id, r.stamp)}
	t.Cleanup(func() { r.discard(e) })
	if dir != "" {
		start := time.Now()
		r.engineState(e, "restore", dir)
		e.restored = time.Since(start)
	}
	cmd := exec.Command("bash", filepath.Join(r.kit, "up.sh"))
	cmd.Env = append(os.Environ(), "GOSHIP_TOOLS=skip", "GOSHIP_ENGINE_NAME="+e.name, "GOSHIP_ENGINE_VOLUME="+e.volume)
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("starting engine %s: %v\n%s", e.name, err, out)
	}
	e.started = time.Since(start)
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "export _EXPERIMENTAL_DAGGER_RUNNER_HOST="); ok {
			e.env = append(e.env, "_EXPERIMENTAL_DAGGER_RUNNER_HOST="+strings.Trim(v, `"'`))
		}
	}
	if len(e.env) == 0 {
		t.Fatalf("engine %s: up.sh printed no runner host:\n%s", e.name, out)
	}
	return e
}

func (r *runners) stop(e *engine) { r.docker("stop", "-t", "60", e.name) }

// discard removes e's engine and its state volume: a benchmark's runners
// would otherwise fill the disk.
func (r *runners) discard(e *engine) {
	r.docker("rm", "-f", e.name)
	r.docker("volume", "rm", e.volume)
	r.discarded = time.Now()
}

// settle waits until five minutes have passed since a volume was last
// removed: for that long ext4 checks the recently freed inodes each time
// it allocates one, and right after a runner's volume (tens of thousands
// of files) was removed the same 3 GB restore took 33-60 s instead of 10.
func (r *runners) settle() {
	if r.discarded.IsZero() {
		return
	}
	if d := time.Until(r.discarded.Add(5*time.Minute + 10*time.Second)); d > 0 {
		r.t.Logf("waiting %s for the disk to settle after removing a runner's volume", d.Round(time.Second))
		time.Sleep(d)
	}
}

// engineState runs scripts/engine-state.sh for e's container and volume
// with the kit's engine image (its tar does the archiving).
func (r *runners) engineState(e *engine, verb, dir string) {
	cmd := exec.Command("bash", filepath.Join(testworld.RepoRoot(r.t), "scripts", "engine-state.sh"), verb, dir)
	cmd.Env = append(os.Environ(), "GOSHIP_ENGINE_CONTAINER="+e.name, "GOSHIP_ENGINE_VOLUME="+e.volume,
		"GOSHIP_ENGINE_IMAGE="+kitEngineImage)
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "starts cold") {
		r.t.Fatalf("engine-state.sh %s %s: %v\n%s", verb, dir, err, out)
	}
}

func (r *runners) docker(args ...string) {
	_ = exec.Command("docker", args...).Run()
}

// call runs one dagger command on e: a goship function on src with the
// engine's arguments, or a module-only command (args[0] is the verb, e.g.
// "functions") when src is "". A call may take long here (a cold module
// load took over 20 minutes under load), but once a CLI connected to an
// idle engine and waited for nothing until it was killed: a call that
// outlasts 30 minutes is tried once more.
func (r *runners) call(e *engine, src string, args ...string) result {
	root := testworld.RepoRoot(r.t)
	full := append([]string{args[0], "-m", root}, args[1:]...)
	if src != "" {
		full = append(append([]string{"call", "-m", root, "--source=" + src}, engineArgs()...), args...)
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		cmd := exec.CommandContext(ctx, "dagger", full...)
		cmd.Dir, cmd.Env = root, append(os.Environ(), e.env...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		res := result{out: string(out), err: err, took: time.Since(start)}
		hung := ctx.Err() != nil
		cancel()
		if !hung || attempt > 0 {
			return res
		}
		r.t.Logf("dagger %s on %s: no answer in %s; once more:\n%s", strings.Join(args, " "), e.name, res.took.Round(time.Second), tail(res.out, 1500))
	}
}

// timed is call, failing t unless it passed, and returns its wall time.
func (r *runners) timed(e *engine, src string, args ...string) time.Duration {
	res := r.call(e, src, args...)
	if res.err != nil {
		r.t.Fatalf("dagger %s on %s: %v\n%s", strings.Join(args, " "), e.name, res.err, tail(res.out, 3000))
	}
	return res.took
}
