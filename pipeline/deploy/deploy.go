package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/sshconn"
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
	// Outcome is pending, healthy (passed its gate), or failed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	// Strategy is how the release went live (empty in records from before
	// strategies: recreate). Color is the blue-green color it last ran as,
	// and Proxy the proxy serving it.
	Strategy Strategy     `json:"strategy,omitempty"`
	Color    string       `json:"color,omitempty"`
	Proxy    *ProxyRecord `json:"proxy,omitempty"`
	// Current is set by Releases, not stored.
	Current bool `json:"-"`
}

// Outcomes of a release.
const (
	OutcomePending = "pending"
	OutcomeHealthy = "healthy"
	OutcomeFailed  = "failed"
)

// LogEntry is one line of deploys.log.
type LogEntry struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"` // deploy, rollback
	Release string    `json:"release"`
	Image   string    `json:"image,omitempty"`
	Who     string    `json:"who"`
	Outcome string    `json:"outcome"` // started, succeeded, failed, rolled-back
	Error   string    `json:"error,omitempty"`
	// Strategy and Color: as in Record.
	Strategy Strategy `json:"strategy,omitempty"`
	Color    string   `json:"color,omitempty"`
}

// Result says what a deploy did.
type Result struct {
	Release  string
	Image    string
	Previous string
	Pruned   []string
	Took     time.Duration
}

// Deploy ships spec to the server behind c. On any failure after the new
// release started, the previous release is brought back and the error
// names the failed check with the new container's last log lines.
func Deploy(ctx context.Context, c *sshconn.Client, spec Spec) (*Result, error) {
	start := time.Now()
	p, err := Prepare(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	defer p.Release()
	return p.s.deployLocked(ctx, p.spec, start)
}

// deployLocked is Deploy once the spec is valid, the server passed its
// preflight and the deploy lock is held (see Prepare).
func (s *server) deployLocked(ctx context.Context, spec Spec, start time.Time) (*Result, error) {
	existing, prev, err := s.history(ctx)
	if err != nil {
		return nil, err
	}
	if prevRec, _ := findRecord(existing, prev); spec.Strategy == StrategyBlueGreen || prevRec.Strategy == StrategyBlueGreen || spec.Proxy.given() {
		return s.deployBlueGreen(ctx, spec, existing, prev, start)
	}
	rec := newRecord(spec, existing, StrategyRecreate)
	rec.HealthPath, rec.HealthHost, rec.HealthPort = spec.Health.Path, spec.Health.Host, spec.Health.Port
	logEvent := s.deployLog(ctx, spec, &rec)
	logEvent("started", nil)
	image, err := s.stage(ctx, spec, &rec, Compose)
	if err != nil {
		logEvent("failed", err)
		return nil, err
	}

	if gateErr := s.startAndGate(ctx, rec, spec.Health); gateErr != nil {
		prevRec, _ := findRecord(existing, prev)
		return nil, s.recoverFrom(ctx, rec, prevRec, spec.Health, gateErr, logEvent)
	}
	if err := s.switchCurrent(ctx, rec.Name); err != nil {
		return nil, err
	}
	rec.Outcome = OutcomeHealthy
	_ = s.saveRecord(ctx, rec)
	logEvent("succeeded", nil)
	pruned, _ := s.prune(ctx, spec.Keep)
	return &Result{Release: rec.Name, Image: image, Previous: prev, Pruned: pruned, Took: time.Since(start)}, nil
}

// startAndGate brings the release up and waits for it to be healthy.
func (s *server) startAndGate(ctx context.Context, rec Record, h Health) error {
	before := s.snapshot(ctx, rec.Name)
	if err := s.up(ctx, rec.Name); err != nil {
		return &gateError{check: "compose up: " + err.Error()}
	}
	return s.gate(ctx, rec.Name, rec.ImageID, h, before)
}

// gateOf is the gate a release passed when it was deployed (its record),
// with h's timing; h's path, host and port only stand in for records
// from before goship recorded them.
func gateOf(rec Record, h Health) Health {
	if rec.HealthPort != 0 {
		h.Port = rec.HealthPort
	}
	if rec.HealthPath != "" {
		h.Path = rec.HealthPath
	}
	if rec.HealthHost != "" {
		h.Host = rec.HealthHost
	}
	return h
}

// recoverFrom rolls back to prev (zero when there is none) after a failed
// gate and builds the error.
func (s *server) recoverFrom(ctx context.Context, rec Record, prev Record, h Health, gateErr error, logEvent func(string, error)) error {
	// The deploy's own context may be what failed; recovery must still run.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.Timeout+2*time.Minute)
	defer cancel()
	logs := "(no container)"
	if id, err := s.containerID(rctx, rec.Name); err == nil {
		logs = s.logs(rctx, id, 50)
	}
	rec.Outcome, rec.Error = OutcomeFailed, gateErr.Error()
	_ = s.saveRecord(rctx, rec)

	var outcome string
	if prev.Name == "" {
		_ = s.down(rctx, rec.Name)
		outcome = "no previous release to roll back to; the failed release was stopped"
	} else {
		// The previous release is judged by its own gate: the new one may
		// have changed the port or path, and whatever listens there now
		// says nothing about the previous release.
		err := s.startAndGate(rctx, prev, gateOf(prev, h))
		var gerr *gateError
		if errors.As(err, &gerr) && strings.HasPrefix(gerr.check, "compose up: ") {
			outcome = fmt.Sprintf("ROLLBACK TO %s FAILED: %v", prev.Name, strings.TrimPrefix(gerr.check, "compose up: "))
		} else if err != nil {
			outcome = fmt.Sprintf("rolled back to %s, but it is not healthy either: %v", prev.Name, err)
		} else {
			outcome = "rolled back to " + prev.Name + ", which is serving"
		}
	}
	err := fmt.Errorf("deploy of %s failed health gate: %w; %s\nlast 50 log lines of the new container:\n%s", rec.Name, gateErr, outcome, strings.TrimRight(logs, "\n"))
	logEvent("rolled-back", fmt.Errorf("health gate: %w; %s", gateErr, outcome))
	return err
}

func (s *server) record(ctx context.Context, release string) (Record, error) {
	recs, err := s.records(ctx)
	if err != nil {
		return Record{}, err
	}
	if r, ok := findRecord(recs, release); ok {
		return r, nil
	}
	return Record{}, fmt.Errorf("no release %q", release)
}

// findRecord is the release named name among recs.
func findRecord(recs []Record, name string) (Record, bool) {
	for _, r := range recs {
		if r.Name == name {
			return r, true
		}
	}
	return Record{}, false
}

// prune removes releases beyond keep, never the current one or the
// healthy one before it, and then the images no kept release uses.
func (s *server) prune(ctx context.Context, keep int) ([]string, error) {
	recs, cur, err := s.history(ctx)
	if err != nil {
		return nil, err
	}
	protected := map[string]bool{cur: true}
	if p := previousHealthy(recs, cur); p != "" {
		protected[p] = true
	}
	var pruned []string
	keptImages := map[string]bool{}
	for i, r := range recs {
		if i < keep || protected[r.Name] {
			keptImages[r.Image] = true
			continue
		}
		pruned = append(pruned, r.Name)
	}
	if len(pruned) == 0 {
		return nil, nil
	}
	var script strings.Builder
	for _, r := range recs {
		if !contains(pruned, r.Name) {
			continue
		}
		fmt.Fprintf(&script, "rm -rf %s\n", q(s.releaseDir(r.Name)))
		if !keptImages[r.Image] {
			fmt.Fprintf(&script, "docker image rm %s >/dev/null 2>&1 || true\n", q(r.Image))
		}
	}
	_, err = s.run(ctx, "prune releases", script.String(), nil)
	return pruned, err
}

// previousHealthy is the newest healthy release older than cur.
func previousHealthy(newestFirst []Record, cur string) string {
	for _, r := range newestFirst {
		if r.Name < cur && r.Outcome == OutcomeHealthy {
			return r.Name
		}
	}
	return ""
}

func sortNewestFirst(recs []Record) {
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name > recs[j].Name })
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var nonTagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// releaseName is <UTC yyyymmddHHMMSS>-<tag>: sortable and readable. The
// tag is the image's tag, or the first 12 hex digits of its digest.
func releaseName(t time.Time, image string) string {
	tag := "image"
	if ref, err := name.ParseReference(image); err == nil {
		switch r := ref.(type) {
		case name.Digest:
			tag = strings.TrimPrefix(r.DigestStr(), "sha256:")
			if len(tag) > 12 {
				tag = tag[:12]
			}
		case name.Tag:
			tag = r.TagStr()
		}
	}
	return t.UTC().Format("20060102150405") + "-" + nonTagChars.ReplaceAllString(tag, "_")
}

// uniqueName appends -2, -3… when a release of that name exists (two
// deploys of one tag within a second).
func uniqueName(base string, existing []Record) string {
	taken := map[string]bool{}
	for _, r := range existing {
		taken[r.Name] = true
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// Releases lists the app's releases, newest first, marking the current one.
func Releases(ctx context.Context, c *sshconn.Client, app, appDir string) ([]Record, error) {
	s, err := serverFor(c, app, appDir, "")
	if err != nil {
		return nil, err
	}
	recs, _, err := s.history(ctx)
	return recs, err
}

func serverFor(c *sshconn.Client, app, appDir, service string) (*server, error) {
	appDir, service, err := location(app, appDir, service)
	if err != nil {
		return nil, err
	}
	return newServer(c, app, appDir, service), nil
}

// ErrNoRollbackTarget means there is no healthy release to go back to.
var ErrNoRollbackTarget = errors.New("no release to roll back to")

// FormatReleases renders releases as a table, current marked with "*".
func FormatReleases(recs []Record) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "\tRELEASE\tOUTCOME\tSTRATEGY\tVERSION\tIMAGE\tBY")
	for _, r := range recs {
		mark := ""
		if r.Current {
			mark = "*"
		}
		strategy := string(strategyOf(r))
		if r.Color != "" {
			strategy += "/" + r.Color
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, r.Name, r.Outcome, strategy, r.Version, r.Image, r.Who)
	}
	_ = tw.Flush()
	return b.String()
}
