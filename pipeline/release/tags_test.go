package release

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTags(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CST", 8*3600))
	sha := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		ref  string
		sets []TagSet
		want []string
	}{
		{"default branch", "refs/heads/main", DefaultSets(), []string{"20260303210607-01234567", "git-0123456", "latest"}},
		{"feature branch gets no latest", "refs/heads/feat/x", DefaultSets(), []string{"20260303210607-01234567", "git-0123456"}},
		{"release tag", "refs/tags/v1.4.2", DefaultSets(), []string{"20260303210607-01234567", "git-0123456", "1.4.2", "1.4", "1"}},
		{"major zero has no X tag", "refs/tags/v0.9.1", []TagSet{Semver}, []string{"0.9.1", "0.9"}},
		{"pre-release has no floating tags", "refs/tags/v2.0.0-rc.1", []TagSet{Semver}, []string{"2.0.0-rc.1"}},
		{"build metadata: '+' becomes '_'", "refs/tags/v1.2.3+build.5", []TagSet{Semver}, []string{"1.2.3_build.5", "1.2", "1"}},
		{"pre-release with build metadata", "refs/tags/v1.0.0-alpha+exp.sha.5114f85", []TagSet{Semver}, []string{"1.0.0-alpha_exp.sha.5114f85"}},
		{"pull request", "refs/pull/7/merge", DefaultSets(), []string{"20260303210607-01234567", "git-0123456"}},
		{"non-semver tag", "refs/tags/release-5", []TagSet{Semver, GitSHA}, []string{"git-0123456"}},
		{"only timestamp", "refs/heads/main", []TagSet{Timestamp}, []string{"20260303210607-01234567"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tags(Context{SHA: sha, Ref: tt.ref, DefaultBranch: "main", Time: at}, tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Tags = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTagsErrors(t *testing.T) {
	at := time.Now()
	if _, err := Tags(Context{SHA: "xyz", Ref: "refs/heads/main", Time: at}, DefaultSets()); err == nil || !strings.Contains(err.Error(), "commit") {
		t.Fatalf("bad SHA: err = %v", err)
	}
	if _, err := Tags(Context{SHA: "0123456789", Ref: "refs/heads/dev", DefaultBranch: "main", Time: at}, []TagSet{Latest}); err == nil {
		t.Fatal("no tags at all must be an error")
	}
	if _, err := ParseSets("timestamp,nightly"); err == nil || !strings.Contains(err.Error(), "nightly") {
		t.Fatalf("unknown set: err = %v", err)
	}
}

func TestVersion(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if v := (Context{SHA: "abcdef0123", Ref: "refs/tags/v1.2.3", Time: at}).Version(); v != "1.2.3" {
		t.Fatalf("release version = %q", v)
	}
	if v := (Context{SHA: "abcdef0123", Ref: "refs/heads/main", Time: at}).Version(); v != "0.0.0-20260102030405-abcdef01" {
		t.Fatalf("dev version = %q", v)
	}
}

func FuzzTags(f *testing.F) {
	f.Add("0123456789abcdef", "refs/tags/v1.2.3")
	f.Add("0123456", "refs/heads/main")
	f.Add("abcdefabcdef", "refs/tags/v1.0.0-alpha+build.5")
	f.Fuzz(func(t *testing.T, sha, ref string) {
		tags, err := Tags(Context{SHA: sha, Ref: ref, DefaultBranch: "main", Time: time.Unix(0, 0)}, DefaultSets())
		if err != nil {
			return
		}
		for _, tag := range tags {
			if !tagPattern(tag) {
				t.Fatalf("Tags(%q, %q) produced invalid tag %q", sha, ref, tag)
			}
		}
	})
}

func tagPattern(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r == '.' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}
