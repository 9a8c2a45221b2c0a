package ci

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/goship-dev/goship/pipeline/release"
)

func githubEnv(event, eventName, sha, ref string) func(string) string {
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SHA": sha, "GITHUB_REF": ref, "GITHUB_EVENT_NAME": eventName,
		"GITHUB_REPOSITORY": "acme/hello-service", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_EVENT_PATH": "testdata/events/" + event + ".json",
	}
	return func(k string) string { return env[k] }
}

func TestRunContextAndTagsPerEvent(t *testing.T) {
	tests := []struct {
		event, eventName, sha, ref string
		wantSHA                    string
		wantTags                   []string
	}{
		{"push", "push", "4f1c2e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e", "refs/heads/main", "4f1c2e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e",
			[]string{"20261120011542-4f1c2e9d", "git-4f1c2e9", "latest"}},
		{"tag", "push", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", "refs/tags/v1.4.2", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
			[]string{"20261121140000-9a8b7c6d", "git-9a8b7c6", "1.4.2", "1.4", "1"}},
		// The merge commit is built, but the PR head is what is reproduced and tagged.
		{"pull_request", "pull_request", "aaaaaaaabbbbbbbbccccccccddddddddeeeeeeee", "refs/pull/42/merge", "1234567890abcdef1234567890abcdef12345678",
			[]string{"20261122033000-12345678", "git-1234567"}},
		{"workflow_dispatch", "workflow_dispatch", "0123456789abcdef0123456789abcdef01234567", "refs/heads/main", "0123456789abcdef0123456789abcdef01234567",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			rc, err := FromGitHub(githubEnv(tt.event, tt.eventName, tt.sha, tt.ref), os.ReadFile)
			if err != nil {
				t.Fatal(err)
			}
			if rc.SHA != tt.wantSHA || rc.DefaultBranch != "main" || rc.SourceURL() != "https://github.com/acme/hello-service" {
				t.Fatalf("run context = %+v", rc)
			}
			tags, err := releaseTags(rc)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantTags == nil {
				// dispatch has no commit time in its payload: the run time is used.
				if len(tags) != 3 || tags[2] != "latest" || !strings.HasSuffix(tags[0], "-01234567") {
					t.Fatalf("dispatch tags = %v", tags)
				}
				return
			}
			if !reflect.DeepEqual(tags, tt.wantTags) {
				t.Fatalf("tags = %v, want %v", tags, tt.wantTags)
			}
		})
	}
}

func TestFromGitHubOutsideActions(t *testing.T) {
	if _, err := FromGitHub(func(string) string { return "" }, os.ReadFile); err == nil || !strings.Contains(err.Error(), "--sha") {
		t.Fatalf("err = %v", err)
	}
}

func TestReproduce(t *testing.T) {
	rc, err := FromGitHub(githubEnv("tag", "push", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", "refs/tags/v1.4.2"), os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	var flags Flags
	flags.String("go-image", "golang:1.26-bookworm", "")
	flags.String("goproxy", "", "")
	flags.Strings("platforms", nil, []string{"linux/amd64"})
	flags.Bool("offline", false)
	flags.Int("port", 9090, 8080)
	flags.String("sha", rc.SHA, "0000000")
	flags.String("ref", rc.Ref, "")
	cmd := Reproduce(Replay{
		SHA: rc.SHA, Module: "github.com/acme/goship@v0.3.0", Source: "services/api", ConstructorArgs: flags.Args(),
		Verb: "publish", VerbArgs: []string{"--registry-host=registry.cn-hangzhou.aliyuncs.com", "--password=env://ACR_PASSWORD"},
	})
	want := "git fetch origin 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b && git checkout 9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b && \\\n" +
		"  dagger call -m github.com/acme/goship@v0.3.0 --source=services/api --go-image=golang:1.26-bookworm --port=9090 --sha=9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b --ref=refs/tags/v1.4.2 publish --registry-host=registry.cn-hangzhou.aliyuncs.com --password=env://ACR_PASSWORD"
	if cmd != want {
		t.Fatalf("Reproduce =\n%s\nwant\n%s", cmd, want)
	}
	// A local run has no real commit: no git step, and nothing to fetch.
	for _, sha := range []string{"0000000", "", "not-a-sha"} {
		if q := Reproduce(Replay{SHA: sha, Source: ".", Verb: "ci"}); q != "dagger call --source=. ci" {
			t.Fatalf("Reproduce with sha %q = %q", sha, q)
		}
	}
	var odd Flags
	odd.String("ref", "refs/heads/it's", "")
	if q := Reproduce(Replay{SHA: "abc1234", ConstructorArgs: odd.Args(), Verb: "ci"}); !strings.Contains(q, `'--ref=refs/heads/it'"'"'s'`) {
		t.Fatalf("arguments are not shell-quoted: %s", q)
	}
}

func releaseTags(rc RunContext) ([]string, error) {
	return release.Tags(rc.Release(), release.DefaultSets())
}
