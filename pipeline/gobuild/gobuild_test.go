package gobuild

import (
	"strings"
	"testing"
)

func TestLDFlags(t *testing.T) {
	stamp := Stamp{Version: "1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}
	got, err := LDFlags(stamp, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "-s -w -X main.version=1.2.3 -X main.commit=abc1234 -X main.date=2026-01-02T03:04:05Z"
	if got != want {
		t.Fatalf("LDFlags = %q\nwant     %q", got, want)
	}
	got, _ = LDFlags(stamp, []string{"example.com/x/internal/buildinfo.Version=v{{version}}-{{commit}}"})
	if !strings.HasSuffix(got, "-X example.com/x/internal/buildinfo.Version=v1.2.3-abc1234") {
		t.Fatalf("custom var: %q", got)
	}
	for _, bad := range []string{"noequals", "=x", "pkg.Name=has space", "pkg.Name='q'"} {
		if _, err := LDFlags(stamp, []string{bad}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestArgsAndEnv(t *testing.T) {
	args := BuildArgs("./cmd/app", "/out/app", "-s -w")
	if strings.Join(args, " ") != "go build -trimpath -buildvcs=false -ldflags -s -w -o /out/app ./cmd/app" {
		t.Fatalf("BuildArgs = %q", args)
	}
	if got := strings.Join(TestArgs("/out/coverage.out"), " "); got != "go test -race -covermode=atomic -coverprofile=/out/coverage.out -json ./..." {
		t.Fatalf("TestArgs = %q", got)
	}
	target, err := ParsePlatform("linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if env := strings.Join(SortedEnv(Env(target)), " "); env != "CGO_ENABLED=0 GOARCH=arm64 GOOS=linux" {
		t.Fatalf("Env = %q", env)
	}
	for _, bad := range []string{"linux", "/amd64", "a/b/c/d"} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", bad)
		}
	}
}

func TestTestScriptRedirectsInTheShell(t *testing.T) {
	got := TestScript("/out/cover age.out", "/out/test.json", "./...")
	want := "exec go test -race -covermode=atomic '-coverprofile=/out/cover age.out' -json ./... > /out/test.json"
	if got != want {
		t.Fatalf("TestScript = %q\nwant        %q", got, want)
	}
}
