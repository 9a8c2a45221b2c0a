package sign_test

import (
	"strings"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/sign"
	"github.com/goship-dev/goship/pipeline/sign/signtest"
)

func TestParseGoSum(t *testing.T) {
	mods, err := sign.ParseGoSum([]byte("golang.org/x/text v0.1.0 h1:2tKNM2VYlSkuQ1r7KJmmRHCh17aRUkEl62bKz/M/bg4=\n" +
		"golang.org/x/text v0.1.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n\n" +
		"github.com/a/b v1.2.3 h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n"))
	if err != nil || len(mods) != 2 || mods[0].Path != "golang.org/x/text" || mods[1].Version != "v1.2.3" {
		t.Fatalf("ParseGoSum = %+v, %v", mods, err)
	}
	for _, bad := range []string{"golang.org/x/text v0.1.0\n", "golang.org/x/text v0.1.0 h2:abc=\n", "golang.org/x/text v0.1.0 h1:bm90IDMyIGJ5dGVz\n"} {
		if _, err := sign.ParseGoSum([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseGoSum(%q) = %v, want an error on line 1", bad, err)
		}
	}
}

func TestRunValidate(t *testing.T) {
	ok := signtest.Run
	ok.FinishedOn = time.Now()
	if err := ok.Validate(); err != nil {
		t.Fatalf("the test run: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*sign.Run)
		says string
	}{
		{"short commit", func(r *sign.Run) { r.Commit = "c0ffee0" }, "full 40-hex"},
		{"no ref", func(r *sign.Run) { r.Ref = "" }, "ref is empty"},
		{"no goship version", func(r *sign.Run) { r.GoshipVersion = "" }, "version is empty"},
		{"not finished", func(r *sign.Run) { r.FinishedOn = time.Time{} }, "FinishedOn"},
		{"a tool image by tag", func(r *sign.Run) { r.Images = []sign.Image{{Role: "trivy", Ref: "aquasec/trivy:0.69.3"}} }, "not pinned by digest"},
		{"an image without a role", func(r *sign.Run) { r.Images = []sign.Image{{Ref: "golang@sha256:" + strings.Repeat("a", 64)}} }, "no role"},
		{"a module hash that is not h1", func(r *sign.Run) { r.Modules = []sign.Module{{Path: "a", Version: "v1", Hash: "h2:x"}} }, "not an h1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			if err := r.Validate(); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Validate = %v, want one saying %q", err, tc.says)
			}
		})
	}
}
