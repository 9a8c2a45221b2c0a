package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/proxy"
)

// Strategy names how a new release replaces the running one, as users
// and release.json write it.
type Strategy string

// strategy is one way a release replaces the running one: recreate
// (recreate.go) or blue-green (bluegreen.go). Each owns its part of the
// records it writes (host.Record.StrategyState) and is the only code
// that reads it: the verbs, status, releases, the day-2 verbs
// (pipeline/ops, through ServingOf) and maintenance ask the strategy of
// the record at hand, chosen here.
type strategy interface {
	// name is the strategy's name, as users and release.json write it.
	name() Strategy
	// check refuses, before anything connects, what spec asks that this
	// strategy cannot do.
	check(spec Spec) error
	// takeOver is this strategy's deploy of spec over prev, which runs
	// from (prev is zero for a new app): it settles what spec leaves open
	// from prev and returns the deploy to run.
	takeOver(spec Spec, prev host.Record, from strategy) (deployRun, Spec, error)
	// rollback brings r.target back in place of r.cur; both run this
	// strategy.
	rollback(ctx context.Context, r *rollbackJob) (*Result, error)
	// verify gates cur again where it runs, starting nothing.
	verify(ctx context.Context, a *host.App, cur host.Record, h host.Health) error
	// restore starts cur again (and gates it) when its container does
	// not run its image; it reports whether it had to.
	restore(ctx context.Context, a *host.App, cur host.Record, h host.Health) (bool, error)
	// abandon removes what a deploy cut off before its gate left of
	// pending (first: no release was current before it), reporting
	// whether it stopped anything.
	abandon(ctx context.Context, a *host.App, pending host.Record, first bool) bool
	// label says how rec runs, for people: "recreate", "blue-green,
	// color blue".
	label(rec host.Record) string
	// serving is a acting on the compose project that runs rec.
	serving(a *host.App, rec host.Record) *host.App
	// status adds what the strategy knows about rec's app to st.
	status(ctx context.Context, a *host.App, rec host.Record, st *State) error
	// maintenance turns maintenance on (m) or off (nil) for rec's app,
	// and says what it did.
	maintenance(ctx context.Context, a *host.App, rec host.Record, m *proxy.Maintenance) (string, error)
}

// deployRun is one deploy under the lock: a strategy's own, or a move
// from another strategy to it (leaveproxy.go).
type deployRun interface {
	// describe names the run for people, e.g. "recreate → blue-green".
	describe() string
	// deploy ships d's release.
	deploy(ctx context.Context, d *deployment) (*Result, error)
}

// strategies are the registered strategies, the default first (records
// from before strategies ran it). A table of kinds, holding no state: a
// new strategy is its own file and one entry here.
var strategies = []strategy{recreate{}, blueGreen{}}

// StrategyNames are the deploy strategies, the default first.
func StrategyNames() []string {
	names := make([]string, len(strategies))
	for i, s := range strategies {
		names[i] = string(s.name())
	}
	return names
}

// ParseStrategy validates a strategy name from user input. Empty stays
// empty: the app keeps the strategy it runs now (the default for a new
// app).
func ParseStrategy(s string) (Strategy, error) {
	if _, ok := byName(Strategy(s)); !ok {
		return "", fmt.Errorf("unknown deploy strategy %q: want one of %s", s, strings.Join(StrategyNames(), ", "))
	}
	return Strategy(s), nil
}

// byName is the strategy named n; "" is the default.
func byName(n Strategy) (strategy, bool) {
	if n == "" {
		return strategies[0], true
	}
	for _, s := range strategies {
		if s.name() == n {
			return s, true
		}
	}
	return nil, false
}

// forRecord is the strategy rec went live with (the default for a zero
// record: a new app).
func forRecord(rec host.Record) (strategy, error) {
	s, ok := byName(Strategy(rec.Strategy))
	if !ok {
		return nil, fmt.Errorf("release %s went live with the strategy %q, which this goship does not know: use the goship that deployed it", rec.Name, rec.Strategy)
	}
	return s, nil
}

// labelOf says how rec runs, for people, even when its strategy is
// unknown here.
func labelOf(rec host.Record) string {
	s, err := forRecord(rec)
	if err != nil {
		return rec.Strategy + " (unknown)"
	}
	return s.label(rec)
}

// deployment is one deploy under the lock.
type deployment struct {
	a        *host.App
	spec     Spec          // defaults filled, strategy settled
	existing []host.Record // newest first
	prev     host.Record   // the current release (zero for a new app)
	start    time.Time
}

// rollbackJob is one rollback under the lock: target replaces cur, each
// gated as its record says (h, curGate).
type rollbackJob struct {
	a           *host.App
	target, cur host.Record
	h, curGate  host.Health
	who         string
	start       time.Time
}

// forDeploy chooses the deploy of spec over prev (the current release,
// zero for a new app): the strategy spec names, or prev's, takes over
// from prev's and settles what spec leaves open.
func forDeploy(spec Spec, prev host.Record) (deployRun, Spec, error) {
	from, err := forRecord(prev)
	if err != nil {
		return nil, spec, err
	}
	to := from
	if spec.Strategy != "" {
		if to, err = strategyOf(spec.Strategy); err != nil {
			return nil, spec, err
		}
	}
	spec.Strategy = to.name()
	return to.takeOver(spec, prev, from)
}

// strategyOf is the strategy named n, or why there is none.
func strategyOf(n Strategy) (strategy, error) {
	s, ok := byName(n)
	if !ok {
		_, err := ParseStrategy(string(n))
		return nil, err
	}
	return s, nil
}

// errCrossStrategy refuses rollbacks between strategies.
var errCrossStrategy = errors.New("rollback across strategies")

// forRollback is the strategy of a rollback from cur to target: both must
// run the same one.
func forRollback(target, cur host.Record) (strategy, error) {
	st, err := forRecord(target)
	if err != nil {
		return nil, err
	}
	was, err := forRecord(cur)
	if err != nil {
		return nil, err
	}
	if was.name() != st.name() {
		return nil, fmt.Errorf("%w: %s runs %s and %s ran %s: deploy %s again with with-%s instead",
			errCrossStrategy, cur.Name, was.name(), target.Name, st.name(), target.Image, was.name())
	}
	return st, nil
}

// withStrategy validates the strategy and the proxy settings given, so a
// bad value fails before anything touches the server. What is not given
// is settled by the strategy's takeOver, from the release running now.
func (s Spec) withStrategy() (Spec, error) {
	if s.Strategy != "" {
		st, err := strategyOf(s.Strategy)
		if err != nil {
			return s, err
		}
		if err := st.check(s); err != nil {
			return s, err
		}
	}
	p, err := s.Proxy.withDefaults()
	if err != nil {
		return s, err
	}
	if p.Name == s.App {
		return s, fmt.Errorf("app %q has the proxy's name: rename one of them", s.App)
	}
	return s, nil
}

// readState decodes a strategy's part of rec into v (left as it is when
// rec has none).
func readState(rec host.Record, v any) error {
	if len(rec.StrategyState) == 0 {
		return nil
	}
	if err := json.Unmarshal(rec.StrategyState, v); err != nil {
		return fmt.Errorf("release %s: the %s strategy's part of release.json: %w", rec.Name, rec.Strategy, err)
	}
	return nil
}

// writeState makes rec a release of strategy s, with v as its part.
func writeState(rec *host.Record, s strategy, v any) {
	rec.Strategy = string(s.name())
	rec.StrategyState, _ = json.Marshal(v) // strategies' parts are plain data
}

// Serving is how a release runs on its server.
type Serving struct {
	// App acts on the compose project that runs the release (a
	// blue-green release runs as its color's).
	App *host.App
	// Strategy says how it runs, e.g. "blue-green, color green".
	Strategy string
}

// ServingOf is how rec runs on a's server: the day-2 verbs
// (pipeline/ops) find the serving container through it, so they never
// read a strategy's part of the record.
func ServingOf(a *host.App, rec host.Record) Serving {
	st, err := forRecord(rec)
	if err != nil {
		return Serving{App: a, Strategy: labelOf(rec)}
	}
	return Serving{App: st.serving(a, rec), Strategy: st.label(rec)}
}
