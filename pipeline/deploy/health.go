package deploy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// gateError is a failed health gate, naming the check that failed.
type gateError struct {
	check string
}

func (g *gateError) Error() string { return g.check }

// waitHealthy polls until the release's container runs the expected image,
// is not reported unhealthy by its own HEALTHCHECK, and an HTTP GET through
// the SSH tunnel answers 2xx/3xx (or, with no HTTP check, until the
// HEALTHCHECK says healthy); or fails with the last failing check.
func (s *server) waitHealthy(ctx context.Context, release, imageID string, h Health) error {
	client := s.tunnelHTTP(h)
	deadline := time.Now().Add(h.Timeout)
	var last string
	for {
		ok, reason, fatal := s.probe(ctx, client, release, imageID, h)
		if ok {
			return nil
		}
		last = reason
		if fatal || time.Now().After(deadline) {
			if !fatal {
				last = fmt.Sprintf("%s (still failing after %s)", last, h.Timeout)
			}
			return &gateError{check: last}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(h.Interval):
		}
	}
}

// probe runs one round of checks; fatal means waiting longer cannot help.
func (s *server) probe(ctx context.Context, client *http.Client, release, imageID string, h Health) (ok bool, reason string, fatal bool) {
	id, err := s.containerID(ctx, release)
	if err != nil {
		return false, "container: " + err.Error(), false
	}
	st, err := s.inspect(ctx, id)
	if err != nil {
		return false, "container: " + err.Error(), false
	}
	switch {
	case imageID != "" && st.Image != imageID:
		return false, fmt.Sprintf("container runs image %s, not the release's %s", short(st.Image), short(imageID)), true
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

// tunnelHTTP is an HTTP client whose connections are SSH direct-tcpip
// channels opened from the server, so the check sees what the server sees.
func (s *server) tunnelHTTP(h Health) *http.Client {
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

func short(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}
