package ci

import "github.com/goship-dev/goship/pipeline/release"

func releaseTags(rc RunContext) ([]string, error) {
	return release.Tags(rc.Release(), release.DefaultSets())
}
