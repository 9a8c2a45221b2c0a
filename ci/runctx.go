package ci

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/release"
)

// RunContext is what a CI run (or a local one) is about.
type RunContext struct {
	SHA           string
	Ref           string
	Event         string // push, pull_request, workflow_dispatch, … or "local"
	DefaultBranch string
	Repository    string // owner/name
	ServerURL     string // https://github.com
	Time          time.Time
	PRNumber      int
	// URL overrides the source URL derived from ServerURL and Repository.
	URL string
}

// FromGitHub reads the run context from GitHub Actions' environment and
// the event payload it points at. getenv is os.Getenv in production;
// readFile reads GITHUB_EVENT_PATH.
func FromGitHub(getenv func(string) string, readFile func(string) ([]byte, error)) (RunContext, error) {
	if getenv("GITHUB_ACTIONS") != "true" {
		return RunContext{}, fmt.Errorf("not running in GitHub Actions (GITHUB_ACTIONS is not true): give --sha and --ref explicitly")
	}
	rc := RunContext{
		SHA: getenv("GITHUB_SHA"), Ref: getenv("GITHUB_REF"), Event: getenv("GITHUB_EVENT_NAME"),
		Repository: getenv("GITHUB_REPOSITORY"), ServerURL: getenv("GITHUB_SERVER_URL"),
	}
	var event struct {
		Repository struct {
			DefaultBranch string `json:"default_branch"`
		} `json:"repository"`
		HeadCommit *struct {
			ID        string    `json:"id"`
			Timestamp time.Time `json:"timestamp"`
		} `json:"head_commit"`
		PullRequest *struct {
			Number int `json:"number"`
			Head   struct {
				SHA string `json:"sha"`
			} `json:"head"`
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"pull_request"`
	}
	if path := getenv("GITHUB_EVENT_PATH"); path != "" {
		data, err := readFile(path)
		if err != nil {
			return RunContext{}, fmt.Errorf("read GitHub event payload: %w", err)
		}
		if err := json.Unmarshal(data, &event); err != nil {
			return RunContext{}, fmt.Errorf("GitHub event payload: %w", err)
		}
	}
	rc.DefaultBranch = event.Repository.DefaultBranch
	switch {
	case event.HeadCommit != nil:
		rc.Time = event.HeadCommit.Timestamp
	case event.PullRequest != nil:
		// A PR build is of the merge commit GITHUB_SHA; the PR's head is
		// what the author pushed, and the one to reproduce.
		rc.PRNumber = event.PullRequest.Number
		rc.SHA = event.PullRequest.Head.SHA
		rc.Time = event.PullRequest.UpdatedAt
	}
	if rc.Time.IsZero() {
		rc.Time = time.Now().UTC().Truncate(time.Second)
	}
	if rc.SHA == "" || rc.Ref == "" {
		return RunContext{}, fmt.Errorf("GITHUB_SHA or GITHUB_REF is empty")
	}
	return rc, nil
}

// Release is the context the tag strategy works from.
func (rc RunContext) Release() release.Context {
	return release.Context{SHA: rc.SHA, Ref: rc.Ref, DefaultBranch: rc.DefaultBranch, Time: rc.Time}
}

// SourceURL is the repository's web address, for image labels.
func (rc RunContext) SourceURL() string {
	if rc.URL != "" {
		return rc.URL
	}
	if rc.Repository == "" {
		return ""
	}
	server := rc.ServerURL
	if server == "" {
		server = "https://github.com"
	}
	return strings.TrimRight(server, "/") + "/" + rc.Repository
}
