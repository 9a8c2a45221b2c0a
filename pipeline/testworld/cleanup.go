package testworld

import (
	"context"
	"strings"
	"testing"
	"time"
)

// RemoveImagesOnCleanup removes from the local dockerd, when the test
// ends, every image reference that names a repository on registry host:
// what the test's deploys pulled from it. Each test registry has a fresh
// port, so without this every run leaves its pulls behind as untagged
// images. Only references are removed (no -f): an image another test
// still uses under its own registry's name stays.
func RemoveImagesOnCleanup(t testing.TB, host string) {
	t.Cleanup(func() { removeImagesOf(host) })
}

func removeImagesOf(host string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := Run(ctx, nil, nil, "docker", "image", "ls", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}")
	if err != nil {
		return // no docker here: nothing was pulled
	}
	var refs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[0], host+"/") {
			continue
		}
		if f[1] != "<none>" {
			refs = append(refs, f[0]+":"+f[1])
		}
		if f[2] != "<none>" {
			refs = append(refs, f[0]+"@"+f[2])
		}
	}
	if len(refs) > 0 {
		_, _ = Run(ctx, nil, nil, append([]string{"docker", "image", "rm"}, refs...)...)
	}
}
