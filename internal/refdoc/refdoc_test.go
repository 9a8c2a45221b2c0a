package refdoc

import (
	"bytes"
	"os"
	"testing"
)

// docs/reference.md is what the module's doc comments say now.
func TestReferenceIsCurrent(t *testing.T) {
	fns, err := Read("../..")
	if err != nil {
		t.Fatal(err)
	}
	want := Markdown(fns)
	got, err := os.ReadFile("../../docs/reference.md")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("docs/reference.md is out of date (%v): run `go run ./internal/cmd/refdoc`", err)
	}
	for _, must := range []string{"### (constructor)", "### deployment", "### with-blue-green", "`--kubeconfig` | secret | **required**"} {
		if !bytes.Contains(want, []byte(must)) {
			t.Errorf("the reference lacks %q", must)
		}
	}
}

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{"goVersion": "go-version", "WithBlueGreen": "with-blue-green", "plainHttpRegistry": "plain-http-registry", "MirrorImages": "mirror-images", "tlsCert": "tls-cert"} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
}
