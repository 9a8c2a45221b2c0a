package ci

import (
	"encoding/json"
	"fmt"
	"strings"
)

// LintIssue is one golangci-lint finding.
type LintIssue struct {
	Linter string
	Text   string
	File   string
	Line   int
	Column int
}

func (i LintIssue) String() string {
	return fmt.Sprintf("%s:%d:%d: %s (%s)", i.File, i.Line, i.Column, i.Text, i.Linter)
}

// ParseLintJSON reads golangci-lint's JSON output (--output.json.path).
func ParseLintJSON(data []byte) ([]LintIssue, error) {
	var raw struct {
		Issues []struct {
			FromLinter string `json:"FromLinter"`
			Text       string `json:"Text"`
			Pos        struct {
				Filename string `json:"Filename"`
				Line     int    `json:"Line"`
				Column   int    `json:"Column"`
			} `json:"Pos"`
		} `json:"Issues"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("golangci-lint JSON: %w", err)
	}
	out := make([]LintIssue, 0, len(raw.Issues))
	for _, i := range raw.Issues {
		out = append(out, LintIssue{Linter: i.FromLinter, Text: i.Text, File: i.Pos.Filename, Line: i.Pos.Line, Column: i.Pos.Column})
	}
	return out, nil
}

// LintSummary is an error message listing the findings.
func LintSummary(issues []LintIssue) string {
	var b strings.Builder
	fmt.Fprintf(&b, "golangci-lint: %d issue(s):\n", len(issues))
	for _, i := range issues {
		b.WriteString("  " + i.String() + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
