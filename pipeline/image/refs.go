package image

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// Pinned is a default tool image, pinned by tag and digest. Source names
// where the digest was found: a digest is never invented, since a wrong
// one breaks every user.
type Pinned struct {
	Repo, Tag, Digest string
	Source            string
}

// Ref is repo:tag@digest.
func (p Pinned) Ref() string { return p.Repo + ":" + p.Tag + "@" + p.Digest }

// DefaultGo is the Go build image: Debian-based, because go test -race
// needs cgo and gcc, which the -alpine images lack.
func DefaultGo() Pinned {
	return Pinned{
		Repo: "golang", Tag: "1.26.6-bookworm",
		Digest: "sha256:116d58cbd88c1297624acc6e967a060012422bacf9930927e23fb719189c6f36",
		Source: "a public Dagger module's pinned goBuilderImage (found with goship's code search, 2026-11)",
	}
}

// DefaultLint is the golangci-lint v2 image.
func DefaultLint() Pinned {
	return Pinned{
		Repo: "golangci/golangci-lint", Tag: "v2.12.2-alpine",
		Digest: "sha256:91b27804074a0bacea298707f016911e60cf0cdbc6c7bf5ccacb5f0606d18d60",
		Source: "a public Dockerfile's COPY --from pin (found with goship's code search, 2026-11)",
	}
}

// DefaultTrivy is the Trivy image.
func DefaultTrivy() Pinned {
	return Pinned{
		Repo: "aquasec/trivy", Tag: "0.69.3",
		Digest: "sha256:bcc376de8d77cfe086a917230e818dc9f8528e3c852f7b1aff648949b6258d1c",
		Source: "dagger/dagger toolchains/security at v0.21.8",
	}
}

// DefaultProxy is the reverse proxy of blue-green deploys: Caddy's
// official image.
func DefaultProxy() Pinned {
	return Pinned{
		Repo: "caddy", Tag: "2.11.7-alpine",
		Digest: "sha256:d8542f48d34a9cf4e4c11a478865229840e87e4c96ea3f439101f31a5d35f75f",
		Source: "github.com/floriandeutsch89/caddy Dockerfile at e501c6a (found with goship's code search, 2026-11)",
	}
}

// GoImage is the build image for goVersion (from go.mod): the pinned
// default when it satisfies the version (same major.minor, patch at least
// as new), else the official Debian-based tag, unpinned.
func GoImage(goVersion string) string {
	def := DefaultGo()
	defVersion := "v" + strings.TrimSuffix(def.Tag, "-bookworm")
	want := "v" + goVersion
	if !semver.IsValid(want) {
		return def.Ref()
	}
	if semver.MajorMinor(want) == semver.MajorMinor(defVersion) && semver.Compare(canonical(want), defVersion) <= 0 {
		return def.Ref()
	}
	return "golang:" + goVersion + "-bookworm"
}

// canonical turns v1.26 into v1.26.0 so it compares as the minimum.
func canonical(v string) string {
	if strings.Count(v, ".") == 1 {
		return v + ".0"
	}
	return v
}

var digestRE = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// IsDigestPinned reports whether ref names an exact manifest.
func IsDigestPinned(ref string) bool { return digestRE.MatchString(ref) }

// parts splits repo[:tag][@digest].
func parts(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

// Mirror rewrites ref to live under mirror (a registry prefix such as
// registry.cn-hangzhou.aliyuncs.com/goship-mirror), keeping tag and
// digest. The repository path is flattened to its last element because
// ACR Personal Edition allows single-level names only; a mirror filled
// with a digest-preserving copy (crane copy, registry.Copy) keeps every
// digest pin valid. An empty mirror leaves ref unchanged.
func Mirror(ref, mirror string) (string, error) {
	if mirror == "" {
		return ref, nil
	}
	mirror = strings.TrimRight(mirror, "/")
	host := strings.SplitN(mirror, "/", 2)[0]
	if strings.Contains(mirror, "://") || strings.ContainsAny(mirror, " @") || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		return "", fmt.Errorf("mirror %q: want a registry prefix like registry.cn-hangzhou.aliyuncs.com/namespace", mirror)
	}
	repo, tag, digest := parts(ref)
	if repo == "" {
		return "", fmt.Errorf("image %q: no repository", ref)
	}
	out := mirror + "/" + repo[strings.LastIndex(repo, "/")+1:]
	if tag != "" {
		out += ":" + tag
	}
	if digest != "" {
		out += "@" + digest
	}
	return out, nil
}

// CopyJob is one image to copy into a mirror.
type CopyJob struct{ From, To string }

// MirrorPlan lists the copies that fill mirror with goship's default tool
// images and the blue-green proxy, by digest, so that --mirror=<mirror>
// resolves every default.
func MirrorPlan(mirror string) ([]CopyJob, error) {
	var jobs []CopyJob
	for _, p := range []Pinned{DefaultGo(), DefaultLint(), DefaultTrivy(), DefaultProxy()} {
		to, err := Mirror(p.Ref(), mirror)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, CopyJob{From: p.Ref(), To: to})
	}
	return jobs, nil
}
