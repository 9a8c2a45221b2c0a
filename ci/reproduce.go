package ci

import (
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// Reproduce is the command that re-runs a CI step on a laptop: check out
// the same commit, then call the same module function with the same
// arguments. args is the argument string exactly as the workflow gave it
// (already shell words); everything goship adds is quoted. Secrets are
// never part of it: secret flags keep their env:// or file:// URIs, which
// name where a value comes from, not the value.
func Reproduce(rc RunContext, module, source, verb, args string) string {
	if source == "" {
		source = "."
	}
	var b strings.Builder
	b.WriteString("git fetch origin " + shellescape.Quote(rc.SHA) + " && git checkout " + shellescape.Quote(rc.SHA) + " && \\\n  ")
	parts := []string{"dagger", "call"}
	if module != "" {
		parts = append(parts, "-m", module)
	}
	parts = append(parts, "--source="+source)
	parts = append(parts, rc.ModuleArgs()...)
	parts = append(parts, verb)
	for i, p := range parts {
		parts[i] = shellescape.Quote(p)
	}
	b.WriteString(strings.Join(parts, " "))
	if args = strings.Join(strings.Fields(args), " "); args != "" {
		b.WriteString(" " + args)
	}
	return b.String()
}
