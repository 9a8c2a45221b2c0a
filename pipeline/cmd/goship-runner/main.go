// Command goship-runner runs one job of goship's Dagger module: the
// module writes the job (pipeline/job) to a file, mounts the secrets it
// names, and reads the result from stdout. Progress goes to stderr.
//
//	goship-runner job.json
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/runner"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goship-runner job.json")
		os.Exit(2)
	}
	// A cancelled dagger call stops the container: the job's context ends,
	// so locks and leases are let go on the way out.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res := run(ctx, os.Args[1])
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "goship-runner: writing the result:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) job.Result {
	data, err := os.ReadFile(path) //nolint:gosec // the job file the module wrote and named
	if err != nil {
		return job.Result{Error: fmt.Sprintf("reading the job %s: %v", path, err)}
	}
	j, err := job.Decode(data)
	if err != nil {
		return job.Result{Error: err.Error()}
	}
	return runner.Runner{Log: os.Stderr}.Run(ctx, j)
}
