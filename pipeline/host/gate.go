package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GateError is a failed health gate, naming the check that failed. Err,
// when set, is the error behind it (e.g. an *sshconn.DeadlineError of a
// compose up that did not finish).
type GateError struct {
	Check string
	Err   error
}

func (g *GateError) Error() string { return g.Check }

func (g *GateError) Unwrap() error { return g.Err }

// ContainerSnap is the service's container as it was before compose up:
// a container compose keeps keeps its restart count, so restarts are
// counted from there; a new one starts from zero.
type ContainerSnap struct {
	id       string
	restarts int
}

// Gate polls until the release passes its checks (see probe), then keeps
// probing for h.Settle: a release that answers once and then degrades, or
// whose container restarts or turns unhealthy, fails the gate rather than
// going live. It fails at once when waiting cannot help (the container
// exited, restarted or runs another image), else after h.Timeout without
// a first pass. before is the container as it was before compose up (nil:
// restarts are counted from the first look).
func (s *App) Gate(ctx context.Context, release, imageID string, h Health, before *ContainerSnap) error {
	client := s.tunnelHTTP(h)
	deadline := time.Now().Add(h.Timeout)
	w := &watch{imageID: imageID, before: before}
	var firstPass time.Time
	passes := 0
	for {
		ok, reason, fatal := s.probe(ctx, client, release, w, h)
		now := time.Now()
		switch {
		case ok && firstPass.IsZero():
			firstPass, passes = now, 1
			if h.Settle <= 0 {
				return nil
			}
		case ok:
			passes++
			if now.Sub(firstPass) >= h.Settle {
				return nil
			}
		case !firstPass.IsZero():
			return &GateError{Check: fmt.Sprintf("%s %s after the first passing probe (%d passed; the release must stay healthy for %s)",
				reason, now.Sub(firstPass).Round(100*time.Millisecond), passes, h.Settle)}
		case fatal:
			return &GateError{Check: reason}
		case now.After(deadline):
			return &GateError{Check: fmt.Sprintf("%s (still failing after %s)", reason, h.Timeout)}
		}
		wait := h.Interval
		if !firstPass.IsZero() {
			// Do not overshoot the window by most of an interval.
			if left := h.Settle - now.Sub(firstPass); left > 0 && left < wait {
				wait = left
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// watch is what one gate remembers between probes.
type watch struct {
	imageID  string
	before   *ContainerSnap
	baseline map[string]int // restart count to compare against, by container ID
}

// restartsSince is how often container id restarted since the gate began.
func (w *watch) restartsSince(id string, restarts int) int {
	if w.baseline == nil {
		w.baseline = map[string]int{}
	}
	base, ok := w.baseline[id]
	if !ok {
		switch {
		case w.before == nil:
			base = restarts // nothing known from before: count from now
		case w.before.id == id:
			base = w.before.restarts // compose kept the container
		default:
			base = 0 // a container created by this compose up
		}
		w.baseline[id] = base
	}
	return restarts - base
}

// probe runs one round of checks; fatal means waiting longer cannot help.
func (s *App) probe(ctx context.Context, client *http.Client, release string, w *watch, h Health) (ok bool, reason string, fatal bool) {
	id, st, err := s.ServiceState(ctx, release)
	if err != nil {
		return false, "container: " + err.Error(), false
	}
	restarted := w.restartsSince(id, st.Restarts)
	switch {
	case w.imageID != "" && st.Image != w.imageID:
		return false, fmt.Sprintf("container runs image %s, not the release's %s", Short(st.Image), Short(w.imageID)), true
	case st.Status == "restarting" || restarted > 0:
		// Docker restarts a container only after it exited: it crashed,
		// and will likely again. Waiting for the timeout cannot help.
		return false, fmt.Sprintf("container exited and was restarted by docker (status %s, %d restarts since compose up)", st.Status, max(restarted, 1)), true
	case st.Status == "exited" || st.Status == "dead":
		return false, "container " + st.Status, true
	case st.Status != "running":
		return false, "container is " + st.Status, false
	case st.Health == "unhealthy":
		// Docker only says this after its retries ran out: waiting longer
		// cannot help.
		return false, "container HEALTHCHECK reports unhealthy", true
	}
	if h.Path == "-" {
		// No HTTP check: the container's own HEALTHCHECK must pass (or be
		// absent).
		if st.Health == "starting" {
			return false, "container HEALTHCHECK still starting", false
		}
		return true, "", false
	}
	// With an HTTP check, a passing GET is enough even while Docker's first
	// HEALTHCHECK interval has not elapsed ("starting"); "unhealthy" above
	// still fails the gate.
	url := "http://" + net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) + h.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error(), true
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("GET %s on the server: %v", h.Path, err), false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return false, fmt.Sprintf("GET %s answered %s", h.Path, resp.Status), false
	}
	return true, "", false
}

// ServiceState finds the service's container and inspects it in one
// round trip (the gate asks often).
func (s *App) ServiceState(ctx context.Context, release string) (string, ContainerState, error) {
	script := fmt.Sprintf(`id=$(docker ps -aq --filter label=com.docker.compose.project=%s --filter label=com.docker.compose.service=%s | head -n 1)
[ -n "$id" ] || exit 0
echo "$id"; docker inspect --format %s "$id"`, Q(s.project), Q(s.service), Q(inspectFormat))
	out, err := s.RunDeadline(ctx, "docker inspect", probeStep, script, nil)
	if err != nil {
		return "", ContainerState{}, err
	}
	id, rest, _ := strings.Cut(strings.TrimSpace(out), "\n")
	if id == "" {
		return "", ContainerState{}, fmt.Errorf("service %q of release %s: %w", s.service, release, errNoContainer)
	}
	st, err := parseInspect(id, rest)
	return id, st, err
}

var errNoContainer = errors.New("no container")

// Snapshot is the service's container before compose up: empty when there
// is none, nil when docker could not tell.
func (s *App) Snapshot(ctx context.Context, release string) *ContainerSnap {
	id, st, err := s.ServiceState(ctx, release)
	switch {
	case errors.Is(err, errNoContainer):
		return &ContainerSnap{}
	case err != nil:
		return nil
	}
	return &ContainerSnap{id: id, restarts: st.Restarts}
}

// tunnelHTTP is an HTTP client whose connections are SSH direct-tcpip
// channels opened from the server, so the check sees what the server sees.
func (s *App) tunnelHTTP(h Health) *http.Client {
	timeout := h.Interval * 3
	if timeout < 2*time.Second {
		timeout = 2 * time.Second
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				return s.c.DialTCP(ctx, addr)
			},
			DisableKeepAlives: true,
		},
	}
}

// Short is a container or image ID cut to a readable length.
func Short(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}
