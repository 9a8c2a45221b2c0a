package compose

import "github.com/goship-dev/goship/pipeline/host"

// ServingApp is a acting on the compose project that runs rec: its
// color's (<app>-<color>) when rec went live blue-green, the app's own
// otherwise. The day-2 verbs (pipeline/ops) find the serving container
// through it, so the project naming stays here with the strategies.
func ServingApp(a *host.App, rec host.Record) *host.App {
	if rec.Color != "" {
		return inColor(a, rec.Color)
	}
	return a
}

// StrategyOf is how rec went live (records from before strategies ran
// recreate).
func StrategyOf(rec host.Record) Strategy { return strategyOf(rec) }
