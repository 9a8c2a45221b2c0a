package host

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// Record is a release's release.json.
type Record struct {
	Name      string    `json:"name"`
	App       string    `json:"app"`
	Image     string    `json:"image"`
	ImageID   string    `json:"image_id"`
	Version   string    `json:"version,omitempty"`
	Commit    string    `json:"commit,omitempty"`
	Who       string    `json:"who"`
	Transfer  string    `json:"transfer"`
	CreatedAt time.Time `json:"created_at"`
	// HealthPath and HealthPort are the gate this release passed, reused
	// when it is rolled back to.
	HealthPath string `json:"health_path"`
	HealthHost string `json:"health_host,omitempty"`
	HealthPort int    `json:"health_port"`
	// Outcome is how the release fared at its gate: pending, healthy, or
	// failed.
	Outcome outcome.Release `json:"outcome"`
	Error   string          `json:"error,omitempty"`
	// Strategy names how the release went live (empty in records from
	// before strategies: the default one). StrategyState is that
	// strategy's own part of the record (blue-green's color and proxy, for
	// one): host neither reads nor writes it, the strategy alone does.
	Strategy      string          `json:"strategy,omitempty"`
	StrategyState json.RawMessage `json:"strategy_state,omitempty"`
	// Migration is the migration this release ran before it went live
	// (nil: none). A release older than one that ran a migration runs
	// against the migrated schema: rollbacks say so.
	Migration *Migration `json:"migration,omitempty"`
	// Current is set by History, not stored.
	Current bool `json:"-"`
}

// Migration is one run of a deploy's migration command, as release.json
// records it. Its output is not kept (it may print secrets); a failed
// run's tail is in the deploy's error.
type Migration struct {
	Command string    `json:"command"`
	At      time.Time `json:"at"`
	// Took is how long it ran; ExitCode its exit status (-1: it did not
	// finish, see Error).
	Took     time.Duration `json:"took"`
	ExitCode int           `json:"exit_code"`
	Error    string        `json:"error,omitempty"`
}

// OK reports whether the migration ran to a successful end.
func (m *Migration) OK() bool { return m != nil && m.ExitCode == 0 && m.Error == "" }

// LogEntry is one line of deploys.log.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"` // deploy, rollback, exec
	Release string    `json:"release"`
	Image   string    `json:"image,omitempty"`
	Who     string    `json:"who"`
	// Started marks the line a run writes as it begins; the line it
	// writes when it ends has its Outcome.
	Started bool            `json:"started,omitempty"`
	Outcome outcome.Outcome `json:"outcome,omitempty"`
	Error   string          `json:"error,omitempty"`
	// Strategy is how the release runs, in its strategy's words (e.g.
	// "blue-green, color green").
	Strategy string `json:"strategy,omitempty"`
	// Command is what an exec ran, word by word (pipeline/ops).
	Command []string `json:"command,omitempty"`
	// Note says what a line that is neither a run's start nor its end
	// records (e.g. an opt-out from the app's signing policy).
	Note string `json:"note,omitempty"`
}

// UnmarshalJSON reads a release.json. Records written before strategies
// owned their part kept it at the top level (blue-green's color and
// proxy): the fields a Record does not have become its StrategyState, so
// a strategy reads its old records as it reads its new ones.
func (r *Record) UnmarshalJSON(data []byte) error {
	type plain Record // without this method
	if err := json.Unmarshal(data, (*plain)(r)); err != nil {
		return err
	}
	if len(r.StrategyState) > 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return err
	}
	t := reflect.TypeFor[plain]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		delete(fields, name)
	}
	if len(fields) == 0 {
		return nil
	}
	state, err := json.Marshal(fields)
	r.StrategyState = state
	return err
}

// FindRecord is the release named name among recs.
func FindRecord(recs []Record, name string) (Record, bool) {
	for _, r := range recs {
		if r.Name == name {
			return r, true
		}
	}
	return Record{}, false
}

// PreviousHealthy is the newest healthy release older than cur.
func PreviousHealthy(newestFirst []Record, cur string) string {
	for _, r := range newestFirst {
		if r.Name < cur && r.Outcome == outcome.ReleaseHealthy {
			return r.Name
		}
	}
	return ""
}

func sortNewestFirst(recs []Record) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name > recs[j].Name })
}
