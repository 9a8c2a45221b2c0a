package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/goship-dev/goship/pipeline/compose"
	"github.com/goship-dev/goship/pipeline/host"
	"github.com/goship-dev/goship/pipeline/sshconn"
)

// HostView is what one host says about the app: its releases (Releases)
// or its running state (Status), or why it could not be read.
type HostView struct {
	Host     string
	Releases []host.Record // newest first, current marked
	State    *compose.State
	Err      error
}

// Current is the host's current release record (zero when unknown or
// never deployed).
func (v HostView) Current() host.Record {
	if v.State != nil {
		return v.State.Release
	}
	for _, r := range v.Releases {
		if r.Current {
			return r
		}
	}
	return host.Record{}
}

// Releases reads the app's releases on every host.
func Releases(ctx context.Context, hosts []sshconn.Config, app, appDir string) []HostView {
	return each(ctx, hosts, func(ctx context.Context, c *sshconn.Client, v *HostView) error {
		recs, err := compose.Releases(ctx, c, app, appDir)
		v.Releases = recs
		return err
	})
}

// Status reads what runs on every host.
func Status(ctx context.Context, hosts []sshconn.Config, app, appDir, service string) []HostView {
	return each(ctx, hosts, func(ctx context.Context, c *sshconn.Client, v *HostView) error {
		st, err := compose.Status(ctx, c, app, appDir, service)
		v.State = st
		return err
	})
}

func each(ctx context.Context, hosts []sshconn.Config, read func(context.Context, *sshconn.Client, *HostView) error) []HostView {
	views := make([]HostView, len(hosts))
	sem := make(chan struct{}, maxDials)
	var wg sync.WaitGroup
	for i, h := range hosts {
		views[i].Host = h.Addr()
		wg.Add(1)
		sem <- struct{}{}
		go func(v *HostView, cfg sshconn.Config) {
			defer func() { <-sem; wg.Done() }()
			c, err := sshconn.Dial(ctx, cfg)
			if err != nil {
				v.Err = err
				return
			}
			defer func() { _ = c.Close() }()
			v.Err = read(ctx, c, v)
		}(&views[i], h)
	}
	wg.Wait()
	return views
}

// Group is the hosts whose current release runs one image.
type Group struct {
	Version string
	Image   string // the image reference of the release
	Hosts   []string
}

// Drift groups the hosts by the image their current release runs (the
// release names differ from host to host: each carries its deploy time).
// More than one group is drift. Hosts that could not be read, or were
// never deployed, are listed apart.
func Drift(views []HostView) (groups []Group, unknown []string) {
	byKey := map[string]*Group{}
	var order []string
	for _, v := range views {
		cur := v.Current()
		if v.Err != nil || cur.Name == "" {
			unknown = append(unknown, v.Host)
			continue
		}
		key := cur.ImageID
		if key == "" {
			key = cur.Image
		}
		g, ok := byKey[key]
		if !ok {
			g = &Group{Version: cur.Version, Image: cur.Image}
			byKey[key] = g
			order = append(order, key)
		}
		g.Hosts = append(g.Hosts, v.Host)
	}
	for _, k := range order {
		groups = append(groups, *byKey[k])
	}
	// The largest group first: the odd hosts out come last.
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i].Hosts) > len(groups[j].Hosts) })
	return groups, unknown
}

// FormatDrift is one verdict line per situation: in step, or DRIFT with
// each release and its hosts.
func FormatDrift(views []HostView) string {
	groups, unknown := Drift(views)
	var b strings.Builder
	switch {
	case len(groups) == 1 && len(unknown) == 0:
		fmt.Fprintf(&b, "IN STEP: all %d hosts run %s (%s)\n", len(views), orDash(groups[0].Version), groups[0].Image)
	case len(groups) > 1:
		fmt.Fprintf(&b, "DRIFT: %d hosts run %d different releases:\n", len(views)-len(unknown), len(groups))
		for _, g := range groups {
			fmt.Fprintf(&b, "  %s (%s): %s\n", orDash(g.Version), g.Image, strings.Join(g.Hosts, ", "))
		}
	case len(groups) == 1:
		fmt.Fprintf(&b, "the hosts that answered run %s (%s)\n", orDash(groups[0].Version), groups[0].Image)
	}
	if len(unknown) > 0 {
		fmt.Fprintf(&b, "UNKNOWN: %s (unreachable or never deployed; see above)\n", strings.Join(unknown, ", "))
	}
	return b.String()
}

// FormatStatus renders every host's state as a table, then the drift
// verdict and the errors.
func FormatStatus(views []HostView) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "HOST\tRELEASE\tVERSION\tCONTAINER\tHEALTH\tSTRATEGY\tVERDICT")
	for _, v := range views {
		if v.Err != nil || v.State == nil {
			_, _ = fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tERROR (below)\n", v.Host)
			continue
		}
		st, maint := v.State, ""
		if st.Proxy != nil && st.Proxy.Maintenance {
			maint = ", MAINTENANCE"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", v.Host, st.Release.Name, orDash(st.Release.Version), st.Container, st.Health, st.Strategy, verdict(st), maint)
	}
	_ = tw.Flush()
	b.WriteString(FormatDrift(views))
	writeErrors(&b, views)
	return b.String()
}

// FormatReleases renders each host's current release, the drift verdict,
// then every host's release list.
func FormatReleases(views []HostView) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "HOST\tCURRENT\tVERSION\tIMAGE\tRELEASES")
	for _, v := range views {
		if v.Err != nil {
			_, _ = fmt.Fprintf(tw, "%s\t-\t-\t-\tERROR (below)\n", v.Host)
			continue
		}
		cur := v.Current()
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", v.Host, orDash(cur.Name), orDash(cur.Version), orDash(cur.Image), len(v.Releases))
	}
	_ = tw.Flush()
	b.WriteString(FormatDrift(views))
	writeErrors(&b, views)
	for _, v := range views {
		if v.Err == nil {
			fmt.Fprintf(&b, "\n== %s ==\n%s", v.Host, compose.FormatReleases(v.Releases))
		}
	}
	return b.String()
}

func verdict(st *compose.State) string {
	switch {
	case st.Container != "running":
		return "DOWN"
	case !st.Matches:
		return "DRIFT (container does not run the release's image)"
	case st.Health == "unhealthy":
		return "UNHEALTHY"
	}
	return "OK"
}

func writeErrors(b *strings.Builder, views []HostView) {
	for _, v := range views {
		if v.Err != nil {
			fmt.Fprintf(b, "%s: %v\n", v.Host, v.Err)
		}
	}
}
