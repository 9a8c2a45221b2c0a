package modcheck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scratchModule copies goship's go.mod and go.sum into a temp dir with the
// given main.go, so each case type-checks a small module of its own.
func scratchModule(t *testing.T, mainGo string) string {
	t.Helper()
	root := repoRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(mainGo), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

const header = `package main

import (
	"context"

	"github.com/goship-dev/goship/internal/dagger"
)

type Goship struct{ Source *dagger.Directory }

func New(
	// The source.
	source *dagger.Directory,
) *Goship {
	return &Goship{Source: source}
}

var _ context.Context
`

// manyArgs declares n more documented int arguments, b0 to b<n-1>.
func manyArgs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "\t// Argument %d.\n\tb%d int,\n", i, i)
	}
	return b.String()
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantErr string // "" means the check must pass
	}{
		{
			name: "valid module",
			body: `func (g *Goship) Ver(ctx context.Context) (string, error) {
	return dag.Container().From("golang:1.26").WithExec([]string{"go", "version"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny}).Stdout(ctx)
}`,
		},
		{
			name: "misspelled enum",
			body: `func (g *Goship) Ver(ctx context.Context) (string, error) {
	return dag.Container().WithExec([]string{"true"}, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAnyy}).Stdout(ctx)
}`,
			wantErr: "ReturnTypeAnyy",
		},
		{
			name: "map argument codegen would reject",
			body: `func (g *Goship) Labels(
	// Labels.
	labels map[string]string,
) string {
	return ""
}`,
			wantErr: "maps cannot cross the Dagger API",
		},
		{
			name: "duration argument codegen would reject",
			body: `func (g *Goship) Wait(
	// How long.
	d time.Duration,
) string {
	return d.String()
}`,
			wantErr: "time.Duration cannot cross",
		},
		{
			name:    "SDK-only host access",
			body:    `func (g *Goship) Src() *dagger.Directory { return dag.Host().Directory(".") }`,
			wantErr: "Host",
		},
		{
			name: "grouped arguments lose their docs",
			body: `func (g *Goship) Pair(
	// Host and user.
	host, user string,
) string {
	return host + user
}`,
			wantErr: "arguments host, user share one declaration",
		},
		{
			name:    "an argument without a doc line is blank in --help",
			body:    `func (g *Goship) Greet(name string) string { return name }`,
			wantErr: "argument name of Greet has no doc comment",
		},
		{
			name:    "too many arguments for one function",
			body:    "func (g *Goship) Wide(\n" + strings.Repeat("\t// An argument.\n\ta int,\n", 1) + manyArgs(11) + ") int { return a }",
			wantErr: "Wide takes 12 arguments (at most 10)",
		},
		{
			name: "vet finding",
			body: `func (g *Goship) Msg(ctx context.Context) string {
	_ = ctx
	return fmt.Sprintf("%d", "not a number")
}`,
			wantErr: "printf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := header + "\n" + tt.body + "\n"
			for _, imp := range []string{"time", "fmt"} {
				if strings.Contains(tt.body, imp+".") {
					src = strings.Replace(src, "import (\n", "import (\n\t\""+imp+"\"\n", 1)
				}
			}
			err := Check(context.Background(), scratchModule(t, src))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check failed on a valid module: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Check passed, want an error mentioning %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Check error does not mention %q:\n%v", tt.wantErr, err)
			}
		})
	}
}

// A developer who ran `dagger develop` has real bindings in the tree: the
// check must hide them, not use or overwrite them.
func TestCheckLeavesGeneratedBindingsAlone(t *testing.T) {
	dir := scratchModule(t, header)
	junk := []byte("package dagger\n\nthis is not Go\n")
	gen := filepath.Join(dir, "internal", "dagger", "dagger.gen.go")
	if err := os.MkdirAll(filepath.Dir(gen), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{gen, filepath.Join(dir, "dagger.gen.go")} {
		if err := os.WriteFile(f, junk, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Check(context.Background(), dir); err != nil {
		t.Fatalf("Check with bindings present: %v", err)
	}
	for _, f := range []string{gen, filepath.Join(dir, "dagger.gen.go")} {
		got, err := os.ReadFile(f)
		if err != nil || !bytes.Equal(got, junk) {
			t.Fatalf("%s was changed by Check", f)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(gen))
	if len(entries) != 1 {
		t.Fatalf("Check wrote files into internal/dagger: %v", entries)
	}
}

// The module itself must pass.
func TestCheckGoshipModule(t *testing.T) {
	if err := Check(context.Background(), repoRoot(t)); err != nil {
		t.Fatal(err)
	}
}
