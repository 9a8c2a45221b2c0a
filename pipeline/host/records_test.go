package host

import (
	"strings"
	"testing"
	"time"
)

func FuzzReleaseName(f *testing.F) {
	f.Add("r.example/a:v1")
	f.Add("r.example/a@sha256:" + strings.Repeat("b", 64))
	f.Fuzz(func(t *testing.T, image string) {
		n := ReleaseName(fixedTime, image)
		if strings.ContainsAny(n, "/ '\"$`\\") {
			t.Fatalf("ReleaseName(%q) = %q is unsafe as a directory name", image, n)
		}
	})
}

var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestLoadedImage(t *testing.T) {
	tests := []struct{ out, want string }{
		{"Loaded image: goship.local/hello:v2\n", "goship.local/hello:v2"},
		{"Loaded image ID: sha256:abc123\n", "sha256:abc123"},
	}
	for _, tt := range tests {
		if got, err := loadedImage(tt.out); err != nil || got != tt.want {
			t.Errorf("loadedImage(%q) = %q, %v", tt.out, got, err)
		}
	}
	if _, err := loadedImage("open /dev/stdin: no data\n"); err == nil {
		t.Error("no image accepted")
	}
}
