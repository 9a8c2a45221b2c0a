// Package refdoc writes goship's function reference (docs/reference.md)
// from the module's own source: every object, every function, every
// argument with its doc line, as `dagger call … --help` shows them. The
// doc comments are the one place each is described; the reference is
// generated, and a test keeps it current.
package refdoc

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// Function is one module function.
type Function struct {
	Object, Name, Doc string
	Args              []Arg
}

// Arg is one argument of a function.
type Arg struct {
	Name, Type, Doc string
	Optional        bool
}

// Read parses the module's root package in dir.
func Read(dir string) ([]Function, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var out []Function
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, ".gen.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		file, err := parser.ParseFile(fset, f, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range file.Decls {
			d, ok := decl.(*ast.FuncDecl)
			if !ok || !d.Name.IsExported() {
				continue
			}
			obj := "goship"
			switch {
			case d.Recv != nil:
				obj = receiver(d.Recv)
				if obj == "Goship" {
					obj = "goship"
				}
			case d.Name.Name != "New":
				continue
			}
			fn := Function{Object: obj, Name: kebab(d.Name.Name), Doc: doc(d.Doc.Text())}
			if d.Name.Name == "New" {
				fn.Name = "(constructor)"
			}
			for _, p := range d.Type.Params.List {
				typ := string(src[fset.Position(p.Type.Pos()).Offset:fset.Position(p.Type.End()).Offset])
				if typ == "context.Context" {
					continue
				}
				text, optional := argDoc(file, fset, p)
				for _, n := range p.Names {
					fn.Args = append(fn.Args, Arg{Name: "--" + kebab(n.Name), Type: argType(typ), Doc: text, Optional: optional})
				}
			}
			out = append(out, fn)
		}
	}
	order := map[string]int{"goship": 0, "Server": 1, "Cluster": 2, "Deployment": 3}
	sort.SliceStable(out, func(i, j int) bool {
		oi, oj := rank(order, out[i].Object), rank(order, out[j].Object)
		if oi != oj {
			return oi < oj
		}
		if out[i].Object != out[j].Object {
			return out[i].Object < out[j].Object
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func rank(order map[string]int, obj string) int {
	if r, ok := order[obj]; ok {
		return r
	}
	return len(order)
}

// Markdown is the reference page.
func Markdown(fns []Function) []byte {
	var b bytes.Buffer
	b.WriteString("# Function reference\n\n")
	b.WriteString("Generated from the module's doc comments by `go run ./internal/cmd/refdoc` (a test keeps it current); `dagger call -m … <function> --help` shows the same. Objects chain: `goship [constructor flags] server [flags] deployment [flags] with-blue-green run`.\n")
	last := ""
	for _, f := range fns {
		if f.Object != last {
			fmt.Fprintf(&b, "\n## %s\n", f.Object)
			last = f.Object
		}
		fmt.Fprintf(&b, "\n### %s\n\n%s\n", f.Name, f.Doc)
		if len(f.Args) == 0 {
			continue
		}
		b.WriteString("\n| argument | type | |\n|---|---|---|\n")
		for _, a := range f.Args {
			req := ""
			if !a.Optional {
				req = "**required** "
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s%s |\n", a.Name, a.Type, req, strings.ReplaceAll(a.Doc, "|", `\|`))
		}
	}
	return b.Bytes()
}

func receiver(fl *ast.FieldList) string {
	t := fl.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return "?"
}

// doc is a function's doc without pragma lines, as one paragraph.
func doc(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "+") {
			continue
		}
		keep = append(keep, strings.TrimSpace(l))
	}
	return strings.TrimSpace(strings.Join(keep, " "))
}

// argDoc is the comment right above an argument, and whether it is
// +optional (or has a +default).
func argDoc(file *ast.File, fset *token.FileSet, p *ast.Field) (string, bool) {
	line := fset.Position(p.Pos()).Line
	for _, cg := range file.Comments {
		if fset.Position(cg.End()).Line != line-1 {
			continue
		}
		text := cg.Text()
		optional := strings.Contains(text, "+optional") || strings.Contains(text, "+default") || strings.Contains(text, "+defaultPath")
		return doc(text), optional
	}
	return "", false
}

func argType(t string) string {
	switch t {
	case "*dagger.Secret":
		return "secret"
	case "[]*dagger.Secret":
		return "secrets"
	case "*dagger.File":
		return "file"
	case "*dagger.Directory":
		return "directory"
	}
	return strings.TrimPrefix(t, "*")
}

// kebab turns a Go name into Dagger's CLI spelling (goVersion →
// go-version, WithBlueGreen → with-blue-green).
func kebab(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
				b.WriteByte('-')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
