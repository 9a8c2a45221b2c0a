package image

import (
	"strings"
	"testing"
)

func TestGoImage(t *testing.T) {
	pinned := DefaultGo().Ref()
	tests := []struct{ goVersion, want string }{
		{"1.26", pinned},
		{"1.26.0", pinned},
		{"1.26.6", pinned},
		{"1.26.8", "golang:1.26.8-bookworm"},
		{"1.25.3", "golang:1.25.3-bookworm"},
		{"1.27", "golang:1.27-bookworm"},
	}
	for _, tt := range tests {
		if got := GoImage(tt.goVersion); got != tt.want {
			t.Errorf("GoImage(%q) = %q, want %q", tt.goVersion, got, tt.want)
		}
	}
}

func TestDefaultsArePinned(t *testing.T) {
	for _, p := range []Pinned{DefaultGo(), DefaultLint(), DefaultTrivy()} {
		if !IsDigestPinned(p.Ref()) || p.Source == "" || p.Tag == "" {
			t.Errorf("%s is not pinned by tag and digest with a named source", p.Ref())
		}
	}
	if strings.Contains(DefaultGo().Tag, "alpine") {
		t.Error("the Go image must be Debian-based: -race needs gcc")
	}
}

func TestMirror(t *testing.T) {
	const m = "registry.cn-hangzhou.aliyuncs.com/goship-mirror"
	tests := []struct{ ref, mirror, want, err string }{
		{"aquasec/trivy:0.69.3@sha256:abc", m, m + "/trivy:0.69.3@sha256:abc", ""},
		{"golang:1.26.6-bookworm@sha256:def", m, m + "/golang:1.26.6-bookworm@sha256:def", ""},
		{"docker.io/golangci/golangci-lint:v2.12.2-alpine", m + "/", m + "/golangci-lint:v2.12.2-alpine", ""},
		{"localhost:5000/team/app@sha256:1", "127.0.0.1:5001/m", "127.0.0.1:5001/m/app@sha256:1", ""},
		{"golang:1.26", "", "golang:1.26", ""},
		{"golang:1.26", "https://mirror.example/x", "", "registry prefix"},
	}
	for _, tt := range tests {
		got, err := Mirror(tt.ref, tt.mirror)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Mirror(%q, %q) err = %v", tt.ref, tt.mirror, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Mirror(%q, %q) = %q, %v; want %q", tt.ref, tt.mirror, got, err, tt.want)
		}
	}
}

func TestMirrorPlan(t *testing.T) {
	jobs, err := MirrorPlan("registry.cn-shanghai.aliyuncs.com/tools")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 4 { // Go, golangci-lint, Trivy, Caddy
		t.Fatalf("jobs = %v", jobs)
	}
	for _, j := range jobs {
		_, _, fromDigest := parts(j.From)
		_, _, toDigest := parts(j.To)
		if fromDigest == "" || fromDigest != toDigest || !strings.HasPrefix(j.To, "registry.cn-shanghai.aliyuncs.com/tools/") {
			t.Errorf("job %+v does not keep the digest under the mirror", j)
		}
	}
	if _, err := MirrorPlan("not a prefix"); err == nil {
		t.Error("bad mirror accepted")
	}
}
