//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/testworld"
)

// kitEngineImage is the engine image the kit builds; engine-state.sh runs
// its tar.
const kitEngineImage = "127.0.0.1:5000/goship/dagger-engine:v0.21.0"

// TestEngineStateFailsSafe runs scripts/engine-state.sh on docker volumes
// of a stand-in state (no engine needed): a saved archive restores the same
// bytes, and every archive that is damaged, cut short or of another engine
// ends in no volume at all, so the engine would start cold.
func TestEngineStateFailsSafe(t *testing.T) {
	if exec.Command("docker", "image", "inspect", kitEngineImage).Run() != nil {
		t.Skipf("ENGINE UNAVAILABLE: no engine image %s", kitEngineImage)
	}
	stamp := time.Now().UnixNano()
	name := func(s string) string { return fmt.Sprintf("goship-state-test-%s-%d", s, stamp) }
	source, container := name("src"), name("engine")
	script := filepath.Join(testworld.RepoRoot(t), "scripts", "engine-state.sh")
	run := func(verb, volume, dir string) (string, error) {
		cmd := exec.Command("bash", script, verb, dir)
		cmd.Env = append(os.Environ(), "GOSHIP_ENGINE_CONTAINER="+container, "GOSHIP_ENGINE_VOLUME="+volume, "GOSHIP_ENGINE_IMAGE="+kitEngineImage)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	inVolume := func(volume, sh string) string {
		out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", "-v", volume+":/var/lib/dagger", kitEngineImage, "-c", sh).CombinedOutput()
		if err != nil {
			t.Fatalf("in volume %s: %s: %v\n%s", volume, sh, err, out)
		}
		return string(out)
	}
	exists := func(volume string) bool { return exec.Command("docker", "volume", "inspect", volume).Run() == nil }
	var volumes []string
	volume := func(s string) string {
		v := name(fmt.Sprintf("%s-%d", s, len(volumes)))
		volumes = append(volumes, v)
		return v
	}
	t.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", container).Run()
		for _, v := range append(volumes, source) {
			_ = exec.Command("docker", "volume", "rm", "-f", v).Run()
		}
	})

	// A stand-in state: incompressible bytes, so damage lands in data, a
	// nested tree and a file only root may read, as the snapshots are.
	const sum = "find /var/lib/dagger -type f | sort | xargs sha256sum"
	inVolume(source, "mkdir -p /var/lib/dagger/worker/snapshots/1/fs && head -c 8000000 /dev/urandom > /var/lib/dagger/worker/snapshots/1/fs/blob && "+
		"echo "+strconv.FormatInt(stamp, 10)+" > /var/lib/dagger/worker/meta.db && chmod 600 /var/lib/dagger/worker/meta.db")
	want := inVolume(source, sum)
	dir := t.TempDir()
	if out, err := run("save", source, dir); err != nil || !strings.Contains(out, "saved") {
		t.Fatalf("save: %v\n%s", err, out)
	}
	archive, manifest := filepath.Join(dir, "engine-state.tar.zst"), filepath.Join(dir, "engine-state.txt")

	t.Run("restores the same bytes", func(t *testing.T) {
		v := volume("good")
		if out, err := run("restore", v, dir); err != nil || !strings.Contains(out, "restored") {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		if got := inVolume(v, sum); got != want {
			t.Fatalf("restored state differs:\n got %s\nwant %s", got, want)
		}
		// A second restore keeps the volume as the engine left it.
		if out, err := run("restore", v, dir); err != nil || !strings.Contains(out, "kept as it is") {
			t.Fatalf("restore over an existing volume: %v\n%s", err, out)
		}
	})

	damaged := func(t *testing.T, edit func(b []byte) []byte, editManifest func(string) string) (string, string) {
		d := t.TempDir()
		b, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		m, err := os.ReadFile(manifest)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "engine-state.tar.zst"), edit(b), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "engine-state.txt"), []byte(editManifest(string(m))), 0o644); err != nil {
			t.Fatal(err)
		}
		v := volume("bad")
		out, err := run("restore", v, d)
		if err != nil {
			t.Fatalf("restore of a bad archive must not fail the job: %v\n%s", err, out)
		}
		return v, out
	}
	same := func(s string) string { return s }
	for _, c := range []struct {
		name     string
		archive  func([]byte) []byte
		manifest func(string) string
		says     string
	}{
		{"flipped bytes", func(b []byte) []byte {
			c := append([]byte(nil), b...)
			for i := len(c) / 2; i < len(c)/2+64; i++ {
				c[i] ^= 0xff
			}
			return c
		}, same, "did not extract"},
		{"cut short", func(b []byte) []byte { return b[:len(b)*2/3] }, same, "did not extract"},
		{"last bytes lost", func(b []byte) []byte { return b[:len(b)-3] }, same, "did not extract"},
		{"another engine", func(b []byte) []byte { return b }, func(m string) string {
			return strings.Replace(m, "image="+kitEngineImage, "image=registry.dagger.io/engine:v0.20.0", 1)
		}, "another engine"},
		{"empty", func([]byte) []byte { return nil }, same, "no archive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, out := damaged(t, c.archive, c.manifest)
			if !strings.Contains(out, "starts cold") || !strings.Contains(out, c.says) {
				t.Fatalf("want a cold start (%s), got:\n%s", c.says, out)
			}
			if exists(v) {
				t.Fatalf("a bad archive left volume %s behind", v)
			}
		})
	}

	t.Run("refuses a running engine", func(t *testing.T) {
		if out, err := exec.Command("docker", "run", "-d", "--name", container, "--entrypoint", "sleep", kitEngineImage, "300").CombinedOutput(); err != nil {
			t.Fatalf("stand-in engine: %v\n%s", err, out)
		}
		v := volume("running")
		out, err := run("restore", v, dir)
		if err == nil || !strings.Contains(out, "is running") {
			t.Fatalf("restore beside a running engine: want a refusal, got %v\n%s", err, out)
		}
		if exists(v) {
			t.Fatalf("the refused restore created volume %s", v)
		}
	})
}

// TestEngineStateKey checks the key of scripts/engine-state.sh: it follows
// each input that feeds the state (the project's go.sum and toolchain,
// goship's version, the engine image) and nothing else.
func TestEngineStateKey(t *testing.T) {
	script := filepath.Join(testworld.RepoRoot(t), "scripts", "engine-state.sh")
	project := t.TempDir()
	writeFile(t, filepath.Join(project, "go.mod"), "module example.com/p\n\ngo 1.26.0\n")
	writeFile(t, filepath.Join(project, "go.sum"), "example.com/a v1.0.0 h1:x=\n")
	writeFile(t, filepath.Join(project, "main.go"), "package main\n")
	key := func(env ...string) string {
		cmd := exec.Command("bash", script, "key", project)
		cmd.Env = append(append(os.Environ(), "GITHUB_OUTPUT=", "GITHUB_ENV=", "GOSHIP_MODULE=github.com/x/goship@v0.4.0", "GOSHIP_ENGINE_IMAGE="+kitEngineImage), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("key: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if k, ok := strings.CutPrefix(l, "key="); ok {
				return k
			}
		}
		t.Fatalf("key printed no key:\n%s", out)
		return ""
	}
	base := key()
	if !strings.HasPrefix(base, "goship-engine-state-") || base != key() {
		t.Fatalf("key %q: not stable, or not goship's", base)
	}
	writeFile(t, filepath.Join(project, "main.go"), "package main\n\n// A code change alone does not feed the state's key.\n")
	if k := key(); k != base {
		t.Fatalf("a code change changed the key: %s -> %s", base, k)
	}
	for _, c := range []struct {
		name string
		edit func() []string
	}{
		{"go.sum", func() []string {
			writeFile(t, filepath.Join(project, "go.sum"), "example.com/a v1.0.1 h1:y=\n")
			return nil
		}},
		{"toolchain", func() []string {
			writeFile(t, filepath.Join(project, "go.mod"), "module example.com/p\n\ngo 1.26.0\n\ntoolchain go1.26.9\n")
			return nil
		}},
		{"goship's version", func() []string { return []string{"GOSHIP_MODULE=github.com/x/goship@v0.4.1"} }},
		{"engine image", func() []string { return []string{"GOSHIP_ENGINE_IMAGE=registry.dagger.io/engine:v0.21.1"} }},
	} {
		before := key()
		if after := key(c.edit()...); after == before {
			t.Errorf("%s changed, the key did not: %s", c.name, after)
		}
	}
}

// TestEngineStateSavesOnlyWhatChanged runs restore and save on a stand-in
// state (docker volumes, no engine): a state restored under this job's
// key, made unseeded and young, is not saved again (and restore says so
// first); a new key, an old state or a cold start's run is saved.
func TestEngineStateSavesOnlyWhatChanged(t *testing.T) {
	if exec.Command("docker", "image", "inspect", kitEngineImage).Run() != nil {
		t.Skipf("ENGINE UNAVAILABLE: no engine image %s", kitEngineImage)
	}
	stamp := time.Now().UnixNano()
	script := filepath.Join(testworld.RepoRoot(t), "scripts", "engine-state.sh")
	var volumes []string
	t.Cleanup(func() {
		for _, v := range volumes {
			_ = exec.Command("docker", "volume", "rm", "-f", v).Run()
		}
	})
	newVolume := func() string {
		v := fmt.Sprintf("goship-state-save-test-%d-%d", stamp, len(volumes))
		volumes = append(volumes, v)
		return v
	}
	run := func(verb, volume, dir string, env ...string) map[string]string {
		outputs := filepath.Join(t.TempDir(), "outputs")
		cmd := exec.Command("bash", script, verb, dir)
		cmd.Env = append(append(os.Environ(), "GOSHIP_ENGINE_CONTAINER=goship-state-save-test-none", "GOSHIP_ENGINE_VOLUME="+volume,
			"GOSHIP_ENGINE_IMAGE="+kitEngineImage, "GITHUB_OUTPUT="+outputs), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", verb, err, out)
		}
		got := map[string]string{"log": string(out)}
		data, _ := os.ReadFile(outputs)
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				got[k] = v
			}
		}
		return got
	}
	src := newVolume()
	if out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", "-v", src+":/var/lib/dagger", kitEngineImage, "-c", "echo state > /var/lib/dagger/meta.db").CombinedOutput(); err != nil {
		t.Fatalf("stand-in state: %v\n%s", err, out)
	}
	dir := t.TempDir()
	const key = "goship-engine-state-test-1"
	if got := run("save", src, dir, "GOSHIP_ENGINE_STATE_KEY="+key); got["saved"] != "true" {
		t.Fatalf("first save: %v", got)
	}
	manifest := filepath.Join(dir, "engine-state.txt")
	saved, err := os.ReadFile(manifest)
	if err != nil || !strings.Contains(string(saved), "key="+key+"\n") || !strings.Contains(string(saved), "seed=empty\n") {
		t.Fatalf("manifest: %v\n%s", err, saved)
	}
	restoreThenSave := func(wantSave string, env ...string) map[string]string {
		v := newVolume()
		got := run("restore", v, dir, env...)
		if got["engine"] != "warm" || got["save"] != wantSave {
			t.Fatalf("restore: want engine=warm save=%s, got %v", wantSave, got)
		}
		return run("save", v, dir, env...)
	}
	if got := restoreThenSave("false", "GOSHIP_ENGINE_STATE_KEY="+key); got["saved"] != "false" || !strings.Contains(got["log"], "not saved") {
		t.Fatalf("same key, unseeded, young: want no save, got %v", got)
	}
	const key2 = "goship-engine-state-test-2"
	if got := restoreThenSave("true", "GOSHIP_ENGINE_STATE_KEY="+key2); got["saved"] != "true" {
		t.Fatalf("a new key: want a save, got %v", got)
	}
	if got := restoreThenSave("false", "GOSHIP_ENGINE_STATE_KEY="+key2); got["saved"] != "false" {
		t.Fatalf("the new key again: want no save, got %v", got)
	}
	// An old state is saved again.
	m, _ := os.ReadFile(manifest)
	old := regexpReplace(string(m), `(?m)^saved=\d+$`, fmt.Sprintf("saved=%d", time.Now().Add(-8*24*time.Hour).Unix()))
	if err := os.WriteFile(manifest, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := restoreThenSave("true", "GOSHIP_ENGINE_STATE_KEY="+key2); got["saved"] != "true" {
		t.Fatalf("a state older than 7 days: want a save, got %v", got)
	}

	// A cold start forgets the manifest it could not restore; its run may
	// have been seeded from goship's caches, so its state is saved as
	// seeded, and the next (warm, unseeded) run saves again.
	seeded := t.TempDir()
	if err := os.WriteFile(filepath.Join(seeded, "engine-state.txt"), []byte("image="+kitEngineImage+"\nformat=tar.zst\nkey="+key2+"\nseed=empty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	caches := filepath.Join(t.TempDir(), "goship-cache")
	v := newVolume()
	if got := run("restore", v, seeded, "GOSHIP_CACHE_FROM="+caches); got["engine"] != "cold" || got["save"] != "true" {
		t.Fatalf("restore without an archive: want engine=cold save=true, got %v", got)
	}
	if _, err := os.Stat(filepath.Join(seeded, "engine-state.txt")); !os.IsNotExist(err) {
		t.Fatalf("a cold start left the manifest: %v", err)
	}
	if fi, err := os.Stat(caches); err != nil || !fi.IsDir() {
		t.Fatalf("restore did not create the --cache-from directory: %v", err)
	}
	if out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", "-v", v+":/var/lib/dagger", kitEngineImage, "-c", "echo cold > /var/lib/dagger/meta.db").CombinedOutput(); err != nil {
		t.Fatalf("the cold engine's state: %v\n%s", err, out)
	}
	if got := run("save", v, seeded, "GOSHIP_ENGINE_STATE_KEY="+key2, "GOSHIP_CACHE_FROM="+caches); got["saved"] != "true" {
		t.Fatalf("save after a cold start: %v", got)
	}
	if m, _ := os.ReadFile(filepath.Join(seeded, "engine-state.txt")); !strings.Contains(string(m), "seed=given\n") {
		t.Fatalf("a cold start's state is not marked seeded:\n%s", m)
	}
	dir = seeded
	if got := restoreThenSave("true", "GOSHIP_ENGINE_STATE_KEY="+key2, "GOSHIP_CACHE_FROM="+caches); got["saved"] != "true" {
		t.Fatalf("the run after a seeded one: want a save, got %v", got)
	}
	if got := restoreThenSave("false", "GOSHIP_ENGINE_STATE_KEY="+key2, "GOSHIP_CACHE_FROM="+caches); got["saved"] != "false" {
		t.Fatalf("then the same key again: want no save, got %v", got)
	}
}

func regexpReplace(s, expr, repl string) string {
	return regexp.MustCompile(expr).ReplaceAllString(s, repl)
}
