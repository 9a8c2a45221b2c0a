package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/goship-dev/goship/pipeline/host"
)

// HostDetails is what runs on one host: the serving release and its
// container, or why it could not be read.
type HostDetails struct {
	Host    string
	Release host.Record
	// Strategy says how the release runs, in its strategy's words (e.g.
	// "blue-green, color green").
	Strategy string
	// Digest is the image's registry digest (sha256:…): from the release's
	// reference, else from docker's RepoDigests; empty for an image that
	// came by docker load and was never pulled.
	Digest string
	// Container is the serving container's ID, empty when it is gone;
	// State is docker's status for it (running, restarting, exited…) or
	// "absent", and Health its HEALTHCHECK status or "none".
	Container string
	State     string
	Health    string
	// Image is the image ID the container runs; Matches says it is the
	// release's.
	Image     string
	Matches   bool
	StartedAt time.Time
	// Uptime is how long it has run, on the server's clock (0 unless
	// running).
	Uptime time.Duration
	// Restarts is how often docker restarted it after it exited.
	Restarts int
	Err      error
}

// Details reads what runs on every target, all at once.
func Details(ctx context.Context, targets []Target) ([]HostDetails, error) {
	if err := locate(targets); err != nil {
		return nil, err
	}
	out := make([]HostDetails, len(targets))
	for i, t := range targets {
		out[i].Host = t.Host()
	}
	each(ctx, targets, func(ctx context.Context, i int, a *host.App) {
		out[i].Err = readDetails(ctx, a, &out[i])
	}, func(i int, err error) { out[i].Err = err })
	return out, nil
}

func readDetails(ctx context.Context, a *host.App, d *HostDetails) error {
	rec, s, err := serving(ctx, a)
	if err != nil {
		return err
	}
	d.Release, d.Strategy = rec, s.Strategy
	d.State, d.Health = "absent", "none"
	if d.Digest, err = digestOf(ctx, a, rec); err != nil {
		return err
	}
	id, err := s.App.ContainerID(ctx, rec.Name)
	if err != nil {
		return nil // no container: absent says so
	}
	info, now, err := inspectContainer(ctx, a, id)
	if err != nil {
		return err
	}
	d.Container, d.State, d.Health, d.Image = info.ID, info.State.Status, info.health(), info.Image
	d.Matches = info.Image == rec.ImageID
	d.StartedAt, d.Restarts = info.State.StartedAt, info.RestartCount
	if info.State.Running && !info.State.StartedAt.IsZero() && now.After(info.State.StartedAt) {
		d.Uptime = now.Sub(info.State.StartedAt)
	}
	return nil
}

// digestOf is the registry digest of rec's image.
func digestOf(ctx context.Context, a *host.App, rec host.Record) (string, error) {
	if ref, err := name.ParseReference(rec.Image); err == nil {
		if d, ok := ref.(name.Digest); ok {
			return d.DigestStr(), nil
		}
	}
	image := rec.ImageID
	if image == "" {
		image = rec.Image
	}
	out, err := a.Run(ctx, "docker image inspect", "docker image inspect --format '{{json .RepoDigests}}' "+host.Q(image)+" 2>/dev/null || echo null", nil)
	if err != nil {
		return "", err
	}
	var digests []string
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &digests); err != nil {
		return "", fmt.Errorf("docker image inspect %s on %s: %w", image, a.Target(), err)
	}
	return pickDigest(rec.Image, digests), nil
}

// pickDigest picks the repo digest of image's repository, else the first.
func pickDigest(image string, repoDigests []string) string {
	repo := ""
	if ref, err := name.ParseReference(image); err == nil {
		repo = ref.Context().Name()
	}
	for _, rd := range repoDigests {
		if d, err := name.NewDigest(rd); err == nil && d.Context().Name() == repo {
			return d.DigestStr()
		}
	}
	for _, rd := range repoDigests {
		if _, dg, ok := strings.Cut(rd, "@"); ok {
			return dg
		}
	}
	return ""
}

// containerInfo is the part of `docker inspect` the verbs read.
type containerInfo struct {
	ID           string `json:"Id"`
	Image        string `json:"Image"`
	RestartCount int    `json:"RestartCount"`
	State        struct {
		Status    string    `json:"Status"`
		Running   bool      `json:"Running"`
		StartedAt time.Time `json:"StartedAt"`
		Health    *struct {
			Status string `json:"Status"`
		} `json:"Health"`
	} `json:"State"`
	NetworkSettings struct {
		Networks map[string]json.RawMessage `json:"Networks"`
	} `json:"NetworkSettings"`
}

func (c containerInfo) health() string {
	if c.State.Health == nil || c.State.Health.Status == "" {
		return "none"
	}
	return c.State.Health.Status
}

// networks are the container's networks, sorted.
func (c containerInfo) networks() []string {
	var ns []string
	for n := range c.NetworkSettings.Networks {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// inspectContainer reads container id and the server's clock in one
// round trip (uptime is measured on the server's clock, not ours).
func inspectContainer(ctx context.Context, a *host.App, id string) (containerInfo, time.Time, error) {
	out, err := a.Run(ctx, "docker inspect", "date -u +%s; docker inspect --type container "+host.Q(id), nil)
	if err != nil {
		return containerInfo{}, time.Time{}, err
	}
	return parseInspect(id, out)
}

func parseInspect(id, out string) (containerInfo, time.Time, error) {
	clock, body, _ := strings.Cut(out, "\n")
	secs, err := strconv.ParseInt(strings.TrimSpace(clock), 10, 64)
	if err != nil {
		return containerInfo{}, time.Time{}, fmt.Errorf("docker inspect %s: reading the server's clock: %q", id, clock)
	}
	var infos []containerInfo
	if err := json.Unmarshal([]byte(body), &infos); err != nil {
		return containerInfo{}, time.Time{}, fmt.Errorf("docker inspect %s: %w", id, err)
	}
	if len(infos) != 1 {
		return containerInfo{}, time.Time{}, fmt.Errorf("docker inspect %s: %d containers, want 1", id, len(infos))
	}
	return infos[0], time.Unix(secs, 0), nil
}

// FormatDetails renders details: one host's as a block, a fleet's as a
// table with the hosts that could not be read after it. One host's error
// is returned as the error.
func FormatDetails(views []HostDetails) (string, error) {
	if len(views) == 1 {
		if views[0].Err != nil {
			return "", views[0].Err
		}
		return formatOne(views[0]), nil
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "HOST\tRELEASE\tVERSION\tDIGEST\tSTRATEGY\tCONTAINER\tHEALTH\tUP\tRESTARTS")
	var errs []error
	for _, v := range views {
		if v.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.Host, v.Err))
			_, _ = fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t-\n", v.Host)
			continue
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", v.Host, v.Release.Name, orDash(v.Release.Version),
			shortDigest(v.Digest), v.Strategy, stateOf(v), v.Health, uptime(v), v.Restarts)
	}
	_ = tw.Flush()
	for _, e := range errs {
		fmt.Fprintf(&b, "ERROR %v\n", e)
	}
	if len(errs) == len(views) {
		return "", errors.Join(errs...)
	}
	return b.String(), nil
}

func formatOne(v HostDetails) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 1, ' ', 0)
	r := v.Release
	rows := [][2]string{
		{"host", v.Host},
		{"release", fmt.Sprintf("%s (version %s, %s, by %s at %s)", r.Name, orDash(r.Version), orDash(string(r.Outcome)), orDash(r.Who), r.CreatedAt.UTC().Format(time.RFC3339))},
		{"image", r.Image},
		{"digest", orDash(v.Digest)},
		{"image id", orDash(r.ImageID)},
		{"strategy", v.Strategy},
		{"container", stateOf(v)},
		{"health", v.Health},
		{"started", startedOf(v)},
		{"restarts", strconv.Itoa(v.Restarts)},
	}
	if v.Container != "" && !v.Matches {
		rows = append(rows, [2]string{"DRIFT", "the container runs image " + host.Short(v.Image) + ", not the release's"})
	}
	for _, row := range rows {
		_, _ = fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	_ = tw.Flush()
	return b.String()
}

func stateOf(v HostDetails) string {
	if v.Container == "" {
		return v.State
	}
	id := v.Container
	if len(id) > 12 {
		id = id[:12]
	}
	return v.State + " (" + id + ")"
}

func startedOf(v HostDetails) string {
	if v.Container == "" || v.StartedAt.IsZero() || v.StartedAt.Year() < 2000 {
		return "-"
	}
	s := v.StartedAt.UTC().Format(time.RFC3339)
	if v.Uptime > 0 {
		s += " (up " + v.Uptime.Round(time.Second).String() + ")"
	}
	return s
}

func uptime(v HostDetails) string {
	if v.Uptime <= 0 {
		return "-"
	}
	return v.Uptime.Round(time.Second).String()
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return orDash(d)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
