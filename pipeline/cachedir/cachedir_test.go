package cachedir

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

const day = 24 * time.Hour

func kept(p Plan) []string {
	var out []string
	for _, e := range p.Keep {
		out = append(out, e.Cache+"/"+e.Path)
	}
	return out
}

func TestDecide(t *testing.T) {
	policy := Policy{MaxAge: 5 * day, MaxBytes: 1000, Now: now}
	tests := []struct {
		name    string
		entries []Entry
		policy  Policy
		want    []string
		dropped map[Reason]Tally
	}{
		{
			name: "module download kept, extracted trees and VCS clones left out",
			entries: []Entry{
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.zip", 100, ago(30 * day)},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.mod", 10, ago(30 * day)},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.lock", 0, ago(30 * day)},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.zip.partial", 5, ago(time.Hour)},
				{GoMod, "example.com/a@v1.0.0/main.go", 50, ago(30 * day)},
				{GoMod, "example.com/a@v1.0.0/.env", 3, ago(30 * day)},
				{GoMod, "cache/vcs/0123abcd/config", 20, ago(day)},
			},
			policy: policy,
			want:   []string{"gomod/cache/download/example.com/a/@v/v1.0.0.mod", "gomod/cache/download/example.com/a/@v/v1.0.0.zip"},
			dropped: map[Reason]Tally{
				Derived: {4, 75},
				Secret:  {1, 3},
			},
		},
		{
			name: "build and lint entries unused for longer than the max age dropped; their bookkeeping files kept",
			entries: []Entry{
				{GoBuild, "ab/ab01-a", 10, ago(time.Hour)},
				{GoBuild, "ab/ab01-d", 100, ago(time.Hour)},
				{GoBuild, "cd/cd02-d", 100, ago(6 * day)},
				{GoBuild, "trim.txt", 5, ago(20 * day)},
				{Lint, "ef/ef03-a", 10, ago(5*day + time.Minute)},
				{Lint, "ef/ef04-a", 10, ago(5*day - time.Minute)},
			},
			policy:  policy,
			want:    []string{"gobuild/ab/ab01-a", "gobuild/ab/ab01-d", "gobuild/trim.txt", "golangci/ef/ef04-a"},
			dropped: map[Reason]Tally{Unused: {2, 110}},
		},
		{
			name: "Trivy's scan results and temporary files left out, its DB kept",
			entries: []Entry{
				{"trivy-1a2b3c4d", "db/trivy.db", 300, ago(day)},
				{"trivy-1a2b3c4d", "db/metadata.json", 1, ago(day)},
				{"trivy-1a2b3c4d", "fanal/fanal.db", 40, ago(day)},
				{Trivy, "db/trivy.db.tmp", 40, ago(day)},
			},
			policy:  policy,
			want:    []string{"trivy-1a2b3c4d/db/metadata.json", "trivy-1a2b3c4d/db/trivy.db"},
			dropped: map[Reason]Tally{Derived: {2, 80}},
		},
		{
			name: "secrets left out wherever they are",
			entries: []Entry{
				{GoBuild, ".netrc", 1, now},
				{GoBuild, "x/.docker/config.json", 1, now},
				{Lint, ".env.production", 1, now},
				{Trivy, "db/.ssh/known_hosts", 1, now},
				{Trivy, "db/registry.pem", 1, now},
				{GoMod, "cache/download/.git-credentials", 1, now},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.zip", 1, now},
			},
			policy:  policy,
			want:    []string{"gomod/cache/download/example.com/a/@v/v1.0.0.zip"},
			dropped: map[Reason]Tally{Secret: {6, 6}},
		},
		{
			name: "unknown volumes and escaping paths left out",
			entries: []Entry{
				{"gomod-old", "cache/download/x", 1, now},
				{"trivy-../x", "db/trivy.db", 1, now},
				{GoBuild, "../escape", 1, now},
				{GoBuild, "/abs", 1, now},
			},
			policy:  policy,
			dropped: map[Reason]Tally{Unknown: {4, 4}},
		},
		{
			name: "over the cap: Trivy first and whole, then build and lint oldest first, modules last",
			entries: []Entry{
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.zip", 300, ago(4 * day)},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.mod", 10, ago(4 * day)},
				{GoBuild, "aa/old-d", 200, ago(3 * day)},
				{Lint, "bb/mid-d", 200, ago(2 * day)},
				{GoBuild, "cc/new-d", 200, ago(time.Hour)},
				{Trivy, "db/trivy.db", 50, now},
				{Trivy, "db/metadata.json", 1, now},
			},
			policy:  Policy{MaxAge: 5 * day, MaxBytes: 800, Now: now},
			want:    []string{"gobuild/cc/new-d", "golangci/bb/mid-d", "gomod/cache/download/example.com/a/@v/v1.0.0.mod", "gomod/cache/download/example.com/a/@v/v1.0.0.zip"},
			dropped: map[Reason]Tally{Size: {3, 251}},
		},
		{
			name: "a module version goes whole: no .mod without its .zip",
			entries: []Entry{
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.zip", 300, ago(day)},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.mod", 10, ago(day)},
				{GoMod, "cache/download/example.com/a/@v/v1.0.0.info", 10, ago(day)},
				{GoMod, "cache/download/example.com/b/@v/v2.0.0.zip", 100, ago(time.Hour)},
				{GoMod, "cache/download/example.com/b/@v/list", 10, ago(time.Hour)},
			},
			policy:  Policy{MaxAge: 5 * day, MaxBytes: 200, Now: now},
			want:    []string{"gomod/cache/download/example.com/b/@v/list", "gomod/cache/download/example.com/b/@v/v2.0.0.zip"},
			dropped: map[Reason]Tally{Size: {3, 320}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Decide(tt.entries, tt.policy)
			if got := kept(plan); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("kept %q\nwant %q", got, tt.want)
			}
			if tt.dropped == nil {
				tt.dropped = map[Reason]Tally{}
			}
			if !reflect.DeepEqual(plan.Dropped, tt.dropped) {
				t.Fatalf("dropped %v, want %v", plan.Dropped, tt.dropped)
			}
			if plan.KeptBytes() > tt.policy.MaxBytes {
				t.Fatalf("kept %d bytes over the cap %d", plan.KeptBytes(), tt.policy.MaxBytes)
			}
		})
	}
}

func TestIsSecret(t *testing.T) {
	for p, want := range map[string]bool{
		".netrc":                true,
		"a/b/_netrc":            true,
		".git-credentials":      true,
		".env":                  true,
		"svc/.env.local":        true,
		".docker/config.json":   true,
		"x/.ssh/id_ed25519.pub": true,
		"id_rsa":                true,
		"certs/server.key":      true,
		"store.p12":             true,
		".aws/credentials":      true,
		"cache/download/sumdb/sum.golang.org/lookup/example.com/a@v1.0.0": false,
		"cache/download/example.com/credentials/@v/v1.0.0.zip":            false,
		"cache/download/example.com/vcs/@v/v1.0.0.mod":                    false,
		"ab/ab0123-d":      false,
		"db/trivy.db":      false,
		"environment.json": false,
		"envelope.go":      false,
	} {
		if got := IsSecret(p); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", p, got, want)
		}
	}
}

// The listing script runs GNU find on a real tree; names with spaces and
// newlines survive the round trip.
func TestListScriptRoundTrip(t *testing.T) {
	if _, err := exec.LookPath("find"); err != nil {
		t.Skip("no find")
	}
	root := t.TempDir()
	files := map[string]string{
		"gobuild/ab/ab01-d":          "0123456789",
		"gobuild/odd name\nx-a":      "abc",
		"trivy-1a2b3c4d/db/trivy.db": "",
	}
	mtime := time.Date(2026, 11, 30, 8, 0, 0, 500_000_000, time.UTC)
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("ab01-d", filepath.Join(root, "gobuild", "ab", "link")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", ListScript(root, []string{"gobuild", "trivy-1a2b3c4d"})).Output()
	if err != nil {
		t.Fatalf("list script: %v", err)
	}
	entries, err := ParseListing(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Entry{}
	for _, e := range entries {
		got[e.Cache+"/"+e.Path] = e
	}
	if len(got) != len(files) {
		t.Fatalf("listed %v, want the %d regular files (no symlink)", got, len(files))
	}
	for p, data := range files {
		e, ok := got[p]
		if !ok {
			t.Fatalf("%q not listed: %v", p, got)
		}
		if e.Size != int64(len(data)) || e.ModTime.Sub(mtime).Abs() > time.Millisecond {
			t.Fatalf("%q listed as %+v, want size %d, mtime %s", p, e, len(data), mtime)
		}
	}
	plan := Decide(entries, Policy{MaxAge: 365 * day, MaxBytes: 1 << 20, Now: mtime})
	if !bytes.Contains(plan.KeepList(), []byte("gobuild/odd name\nx-a\x00")) {
		t.Fatalf("keep list lacks the odd name: %q", plan.KeepList())
	}
}

// An export end to end on a real tree, with the scripts the module runs:
// list, decide, copy. What is kept arrives with its mtime; what is not,
// does not; a file gone between listing and copy is skipped.
func TestListDecideCopy(t *testing.T) {
	for _, tool := range []string{"find", "tar", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip("no " + tool)
		}
	}
	root, out := t.TempDir(), t.TempDir()
	used, stale := now.Add(-time.Hour).Truncate(time.Second), now.Add(-10*day).Truncate(time.Second)
	files := []struct {
		path string
		at   time.Time
		keep bool
	}{
		{"gomod/cache/download/example.com/a/@v/v1.0.0.zip", stale, true},
		{"gomod/example.com/a@v1.0.0/go.mod", stale, false},
		{"gobuild/ab/ab01-d", used, true},
		{"gobuild/cd/cd02-d", stale, false},
		{"gobuild/.netrc", used, false},
		{"golangci/ef/ef03-a", used, true},
		{"trivy/db/trivy.db", used, true},
		{"trivy/fanal/fanal.db", used, false},
		{"gobuild/gone/gone-d", used, true}, // removed after the listing
	}
	for _, f := range files {
		full := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(f.path), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, f.at, f.at); err != nil {
			t.Fatal(err)
		}
	}
	listing, err := exec.Command("sh", "-c", ListScript(root, []string{GoMod, GoBuild, Lint, Trivy})).Output()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ParseListing(listing)
	if err != nil {
		t.Fatal(err)
	}
	plan := Decide(entries, Policy{MaxAge: 5 * day, MaxBytes: 1 << 20, Now: now})
	keep := filepath.Join(t.TempDir(), "keep")
	if err := os.WriteFile(keep, plan.KeepList(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "gobuild/gone/gone-d")); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("bash", "-o", "pipefail", "-c", CopyScript(root, keep, out)).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, b)
	}
	for _, f := range files {
		info, err := os.Stat(filepath.Join(out, f.path))
		switch {
		case f.keep && f.path != "gobuild/gone/gone-d" && err != nil:
			t.Errorf("%s was not copied: %v", f.path, err)
		case f.keep && err == nil && !info.ModTime().Equal(f.at):
			t.Errorf("%s copied with mtime %s, want %s", f.path, info.ModTime(), f.at)
		case !f.keep && err == nil:
			t.Errorf("%s was copied", f.path)
		}
	}
}

func TestParseListingRejectsGarbage(t *testing.T) {
	for _, in := range []string{"gobuild 12 1700000000.0\x00", "gobuild x 1.0 a\x00", "gobuild 1 y a\x00", "gobuild -1 1.0 a\x00"} {
		if _, err := ParseListing([]byte(in)); err == nil {
			t.Errorf("ParseListing(%q) succeeded", in)
		}
	}
}

func TestSummary(t *testing.T) {
	plan := Decide([]Entry{
		{GoBuild, "ab/ab01-d", 2048, now},
		{GoBuild, ".netrc", 10, now},
	}, Policy{MaxAge: 5 * day, MaxBytes: 1 << 30, Now: now})
	s := plan.Summary()
	for _, want := range []string{"2.0 KiB of at most 1.0 GiB", "kept gobuild: 1 files, 2.0 KiB", "left out (may hold a secret): 1 files, 10 B"} {
		if !strings.Contains(s, want) {
			t.Fatalf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"2GiB": 2 << 30, "500MiB": 500 << 20, "1.5GB": 1_500_000_000, "1073741824": 1 << 30,
		"10kib": 10 << 10, " 3 TB ": 3e12, "7B": 7,
	} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1GiB", "2 gigs", "GiB", "1e30"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded", in)
		}
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"5d": 5 * day, "36h": 36 * time.Hour, "90m": 90 * time.Minute, "0.5d": 12 * time.Hour} {
		got, err := ParseAge(in)
		if err != nil || got != want {
			t.Errorf("ParseAge(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1h", "5", "d", "soon"} {
		if _, err := ParseAge(in); err == nil {
			t.Errorf("ParseAge(%q) succeeded", in)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := (Policy{MaxAge: day, MaxBytes: 1}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []Policy{{MaxAge: day}, {MaxBytes: 1}} {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded", p)
		}
	}
}

func TestRestore(t *testing.T) {
	for _, tt := range []struct {
		cache       string
		include     []string
		exclude     []string
		notExcluded []string
	}{
		{GoMod, []string{"gomod/cache/download/**"}, []string{"**/.netrc", "**/.git-credentials", "**/.env.*", "**/.docker", "**/*.pem"}, []string{"**/credentials", "**/kubeconfig", "**/id_rsa"}},
		{"trivy-1a2b3c4d", []string{"trivy-1a2b3c4d/**"}, []string{"trivy-1a2b3c4d/fanal", "**/.env", "**/*.key"}, nil},
		{GoBuild, []string{"gobuild/**"}, []string{"**/.ssh", "**/_netrc"}, nil},
	} {
		include, exclude := Restore(tt.cache)
		if !reflect.DeepEqual(include, tt.include) {
			t.Errorf("Restore(%s) include %q, want %q", tt.cache, include, tt.include)
		}
		set := map[string]bool{}
		for _, e := range exclude {
			set[e] = true
		}
		for _, want := range tt.exclude {
			if !set[want] {
				t.Errorf("Restore(%s) does not exclude %s: %q", tt.cache, want, exclude)
			}
		}
		for _, no := range tt.notExcluded {
			if set[no] {
				t.Errorf("Restore(%s) excludes %s, which would drop a Go module of that name", tt.cache, no)
			}
		}
	}
}
