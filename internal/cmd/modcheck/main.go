// Command modcheck type-checks the goship Dagger module without an engine.
//
//	go run ./internal/cmd/modcheck [dir]          type-check and vet the module
//	go run ./internal/cmd/modcheck test [go test flags]  run its unit tests
//	go run ./internal/cmd/modcheck tidy [-diff]          go mod tidy with the stand-in bindings
//	go run ./internal/cmd/modcheck engine-tidy           go mod tidy on what dagger.json lets the engine see
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/goship-dev/goship/internal/modcheck"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "test" {
		if err := modcheck.Test(context.Background(), ".", os.Args[2:]...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "tidy" {
		if err := modcheck.Tidy(context.Background(), ".", len(os.Args) > 2 && os.Args[2] == "-diff"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "engine-tidy" {
		if err := modcheck.EngineTidy(context.Background(), "."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := modcheck.Check(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("modcheck: the Dagger module type-checks against dagger.io/dagger")
}
