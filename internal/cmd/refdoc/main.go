// Command refdoc writes docs/reference.md from the module's doc comments.
//
//	go run ./internal/cmd/refdoc            write docs/reference.md
package main

import (
	"fmt"
	"os"

	"github.com/goship-dev/goship/internal/refdoc"
)

func main() {
	fns, err := refdoc.Read(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile("docs/reference.md", refdoc.Markdown(fns), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
