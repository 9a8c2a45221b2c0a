package image

import (
	"strings"
	"testing"
	"time"
)

func TestAssemble(t *testing.T) {
	spec := DefaultRuntimeSpec(8080)
	spec.Labels = OCILabels("abc123", "1.2.3", "https://example.com/x", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	spec.Healthcheck = &Healthcheck{Command: []string{"/app", "health"}, Interval: 5 * time.Second}
	img, err := Assemble(spec, File{Path: "/app", Mode: 0o755, Content: []byte("binary")}, File{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Content: []byte("pem")})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || c.Entrypoint[0] != "/app" || c.Labels[LabelRevision] != "abc123" || c.Labels[LabelCreated] != "2026-01-02T03:04:05Z" {
		t.Fatalf("config = %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") != "CMD /app health" {
		t.Fatalf("ports/healthcheck = %v %+v", c.ExposedPorts, c.Healthcheck)
	}
	// Same inputs, same digest: the tar has fixed times and owners.
	img2, _ := Assemble(spec, File{Path: "/app", Mode: 0o755, Content: []byte("binary")}, File{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Content: []byte("pem")})
	d1, _ := img.Digest()
	d2, _ := img2.Digest()
	if d1 != d2 {
		t.Fatalf("digests differ: %s %s", d1, d2)
	}
}

func TestRuntimeSpecValidate(t *testing.T) {
	for _, mutate := range []func(*RuntimeSpec){
		func(s *RuntimeSpec) { s.User = "0" },
		func(s *RuntimeSpec) { s.User = "root" },
		func(s *RuntimeSpec) { s.User = "0:0" },
		func(s *RuntimeSpec) { s.BinaryPath = "app" },
		func(s *RuntimeSpec) { s.Port = 70000 },
		func(s *RuntimeSpec) { s.Env = []string{"NOVALUE"} },
		func(s *RuntimeSpec) { s.Healthcheck = &Healthcheck{} },
	} {
		s := DefaultRuntimeSpec(8080)
		mutate(&s)
		if s.Validate() == nil {
			t.Errorf("accepted %+v", s)
		}
	}
}
