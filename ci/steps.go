package ci

import (
	"fmt"
	"sort"
	"strings"
)

// Step is the outcome of one pipeline step.
type Step struct {
	Name string
	Err  error
}

// SortSteps orders steps by the chain's order (lint, test, build, scan,
// publish, deploy), unknown names last.
func SortSteps(steps []Step) []Step {
	order := map[string]int{"lint": 0, "test": 1, "build": 2, "scan": 3, "publish": 4, "deploy": 5}
	out := append([]Step(nil), steps...)
	sort.SliceStable(out, func(i, j int) bool {
		oi, ok := order[out[i].Name]
		if !ok {
			oi = len(order)
		}
		oj, ok := order[out[j].Name]
		if !ok {
			oj = len(order)
		}
		return oi < oj
	})
	return out
}

// StepsSummary is markdown for a job summary: one line per step.
func StepsSummary(app string, steps []Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## goship ci: %s\n\n| Step | Result |\n|---|---|\n", app)
	for _, s := range SortSteps(steps) {
		result := "✅ passed"
		if s.Err != nil {
			first, _, _ := strings.Cut(s.Err.Error(), "\n")
			result = "❌ " + strings.ReplaceAll(first, "|", `\|`)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", s.Name, result)
	}
	return b.String()
}
