package ci

import (
	"regexp"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Replay is everything a reproduce command repeats.
type Replay struct {
	// SHA is the commit that ran; without a real one there is nothing to
	// check out.
	SHA string
	// Module is the -m reference as the user gave it ("" when goship was
	// called from its own checkout).
	Module string
	// Source is the source path relative to the repository root; ""
	// when the run did not say (ci without --repo-path).
	Source string
	// ConstructorArgs are the constructor flags that differ from their
	// defaults (see Flags).
	ConstructorArgs []string
	// Verb is the function, VerbArgs its arguments as shell words.
	Verb     string
	VerbArgs []string
}

// SourcePlaceholder stands for the source path when it is unknown.
const SourcePlaceholder = "<path of the service>"

var realSHA = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// hasCommit reports whether sha names a real commit (not the all-zero
// placeholder a local run without --sha gets).
func hasCommit(sha string) bool {
	return realSHA.MatchString(sha) && strings.Trim(sha, "0") != ""
}

// Reproduce is the command that re-runs a call on a laptop: check out the
// same commit when there is one, then call the same module function with
// the same constructor and function arguments. Secrets are never part of
// it: secret flags keep their env:// or file:// URIs, which name where a
// value comes from, not the value. Without a known source path the
// command names a placeholder and says why: module code never sees the
// host path behind --source, and a guess such as "." would silently
// reproduce whatever project the command happens to run in.
func Reproduce(r Replay) string {
	var b strings.Builder
	source := r.Source
	if source == "" {
		source = SourcePlaceholder
		b.WriteString("# the run did not say where its source lives in the repository (ci --repo-path=…), and goship cannot\n" +
			"# see the host path behind --source: replace " + SourcePlaceholder + " below before running it\n")
	}
	if hasCommit(r.SHA) {
		b.WriteString("git fetch origin " + shellescape.Quote(r.SHA) + " && git checkout " + shellescape.Quote(r.SHA) + " && \\\n  ")
	}
	parts := []string{"dagger", "call"}
	if r.Module != "" {
		parts = append(parts, "-m", r.Module)
	}
	parts = append(parts, "--source="+source)
	parts = append(parts, r.ConstructorArgs...)
	parts = append(parts, r.Verb)
	parts = append(parts, r.VerbArgs...)
	b.WriteString(shellescape.QuoteCommand(parts))
	return b.String()
}
