package compose

import (
	"strings"
	"testing"
	"time"
)

func FuzzReleaseName(f *testing.F) {
	f.Add("r.example/a:v1")
	f.Add("r.example/a@sha256:" + strings.Repeat("b", 64))
	f.Fuzz(func(t *testing.T, image string) {
		n := releaseName(fixedTime, image)
		if strings.ContainsAny(n, "/ '\"$`\\") {
			t.Fatalf("releaseName(%q) = %q is unsafe as a directory name", image, n)
		}
	})
}

var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
