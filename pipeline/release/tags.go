// Package release derives what a build is called: its version, and the
// image tags a push gets, from the run context (commit, ref, branch, time).
package release

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/goship-dev/goship/pipeline/registry"
)

// Context is what is known about the run that produced a build.
type Context struct {
	SHA           string    // full commit SHA
	Ref           string    // refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge
	DefaultBranch string    // e.g. main
	Time          time.Time // commit or run time; UTC is used
}

// TagSet names a family of tags.
type TagSet string

// The tag families goship knows.
const (
	// Timestamp is <yyyymmddHHMMSS>-<sha8>, unique and sortable.
	Timestamp TagSet = "timestamp"
	// GitSHA is git-<sha7>.
	GitSHA TagSet = "sha"
	// Semver is X.Y.Z, X.Y and X (X ≥ 1) for a vX.Y.Z tag ref.
	Semver TagSet = "semver"
	// Latest is "latest", on the default branch only.
	Latest TagSet = "latest"
)

// DefaultSets are the sets on when the user names none.
func DefaultSets() []TagSet { return []TagSet{Timestamp, GitSHA, Semver, Latest} }

// ParseSets reads a comma-separated list such as "timestamp,sha".
func ParseSets(s string) ([]TagSet, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultSets(), nil
	}
	var out []TagSet
	for _, part := range strings.Split(s, ",") {
		set := TagSet(strings.TrimSpace(part))
		switch set {
		case Timestamp, GitSHA, Semver, Latest:
			out = append(out, set)
		default:
			return nil, fmt.Errorf("tag set %q: want one of timestamp, sha, semver, latest", part)
		}
	}
	return out, nil
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// Validate checks the context has what tags are made of.
func (c Context) Validate() error {
	if !shaRE.MatchString(c.SHA) {
		return fmt.Errorf("commit %q: want a hex SHA of at least 7 characters", c.SHA)
	}
	if c.Time.IsZero() {
		return fmt.Errorf("run context has no time")
	}
	return nil
}

// Branch is the branch name of a refs/heads ref, or "".
func (c Context) Branch() string {
	if b, ok := strings.CutPrefix(c.Ref, "refs/heads/"); ok {
		return b
	}
	return ""
}

// GitTag is the tag name of a refs/tags ref, or "".
func (c Context) GitTag() string {
	if t, ok := strings.CutPrefix(c.Ref, "refs/tags/"); ok {
		return t
	}
	return ""
}

// Version is the release version: the semver tag without "v" for a
// release tag, else 0.0.0-<timestamp>-<sha8>-style dev version.
func (c Context) Version() string {
	if v, err := releaseVersion(c.GitTag()); err == nil {
		return v.String()
	}
	return "0.0.0-" + c.Time.UTC().Format("20060102150405") + "-" + short(c.SHA, 8)
}

func releaseVersion(tag string) (*semver.Version, error) {
	if !strings.HasPrefix(tag, "v") {
		return nil, fmt.Errorf("git tag %q is not a vX.Y.Z release tag", tag)
	}
	return semver.StrictNewVersion(tag[1:])
}

// TagSafe is version as an image tag. Semver build metadata is joined with
// '+', which no image tag may contain: it becomes '_' (1.2.3+build.5 ->
// 1.2.3_build.5), as Helm does for OCI charts. '_' is not valid in semver,
// so the tag reads back unambiguously, and unlike '-' it cannot be taken
// for a pre-release. The full version stays in labels and release.json.
func TagSafe(version string) string {
	return strings.ReplaceAll(version, "+", "_")
}

// Tags produces the tags of sets for c, in a stable order, each valid.
func Tags(c Context, sets []TagSet) ([]string, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var tags []string
	add := func(t string) { // a tag can come from two sets only once
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	for _, set := range sets {
		switch set {
		case Timestamp:
			add(c.Time.UTC().Format("20060102150405") + "-" + short(c.SHA, 8))
		case GitSHA:
			add("git-" + short(c.SHA, 7))
		case Semver:
			v, err := releaseVersion(c.GitTag())
			if err != nil {
				continue // not a release: no semver tags
			}
			add(TagSafe(v.String()))
			if v.Prerelease() != "" {
				continue // pre-releases get no floating tags
			}
			add(strconv.FormatUint(v.Major(), 10) + "." + strconv.FormatUint(v.Minor(), 10))
			if v.Major() >= 1 {
				add(strconv.FormatUint(v.Major(), 10))
			}
		case Latest:
			if c.DefaultBranch != "" && c.Branch() == c.DefaultBranch {
				add("latest")
			}
		default:
			return nil, fmt.Errorf("unknown tag set %q", set)
		}
	}
	for _, t := range tags {
		if err := registry.ValidateTag(t); err != nil {
			return nil, fmt.Errorf("derived tag: %w", err)
		}
	}
	if len(tags) == 0 {
		return nil, fmt.Errorf("no tags for ref %q with sets %v", c.Ref, sets)
	}
	return tags, nil
}

func short(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}
