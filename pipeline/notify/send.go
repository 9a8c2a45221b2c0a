package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds each target, retry included.
const DefaultTimeout = 5 * time.Second

// maxAnswer bounds how much of a response is read: the answers that
// matter are a few bytes of JSON or "ok".
const maxAnswer = 64 << 10

// retryPause spaces the one retry after a quick 5xx or refused connection.
const retryPause = 200 * time.Millisecond

// Result is how one target fared.
type Result struct {
	Target   Target
	Err      error // nil when the target accepted the message; never holds credentials
	Attempts int
	Elapsed  time.Duration
}

// OK reports whether the target accepted the message.
func (r Result) OK() bool { return r.Err == nil }

// Option changes how Send sends.
type Option func(*settings)

type settings struct {
	timeout   time.Duration
	transport http.RoundTripper
	now       func() time.Time
}

// WithTimeout bounds each target, retry included (default 5s).
func WithTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithTransport sends through rt, e.g. one that trusts an extra CA.
func WithTransport(rt http.RoundTripper) Option {
	return func(s *settings) { s.transport = rt }
}

// Send posts ev to every target at once and returns one result per
// target, in order. It returns after at most the timeout (default 5s)
// whatever the servers do: each target gets one retry, within its
// timeout, after a 5xx, a network error or a first attempt that used up
// half the timeout. Rate limits, refusals and untrusted certificates are
// not retried. Send never
// fails as a whole; callers print Summary and carry on. Give it a context
// that is still live when the run ends (context.WithoutCancel after a
// cancelled deploy), or nothing is sent.
func Send(ctx context.Context, targets []Target, ev Event, opts ...Option) []Result {
	s := settings{timeout: DefaultTimeout, now: time.Now}
	for _, o := range opts {
		o(&s)
	}
	if len(targets) == 0 {
		return nil
	}
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	rt := s.transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		rt = tr
	}
	client := &http.Client{
		Transport: rt,
		// A redirected POST turns into a GET and may carry the token to
		// another host: report it instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	results := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = sendOne(ctx, client, s, t, ev)
		}()
	}
	wg.Wait()
	return results
}

func sendOne(ctx context.Context, client *http.Client, s settings, t Target, ev Event) Result {
	start := time.Now()
	res := Result{Target: t}
	if t.url == nil {
		res.Err = errors.New("invalid target: make targets with ParseTarget")
		return res
	}
	body, err := Payload(t.Kind, ev)
	if err != nil {
		res.Err = err
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	for res.Attempts < 2 {
		res.Attempts++
		budget := s.timeout / 2 // leave room for the retry
		if res.Attempts == 2 {
			budget = s.timeout
		}
		var retry bool
		retry, err = attempt(ctx, client, s, t, body, budget)
		if err == nil || !retry || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(retryPause):
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Elapsed = time.Since(start)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("not sent: %w", ctx.Err())
		}
		// Text from servers and the network stack may quote the URL.
		res.Err = errors.New(t.scrub(err.Error()))
	}
	return res
}

// attempt posts once within budget. retry says whether one more try may
// help.
func attempt(ctx context.Context, client *http.Client, s settings, t Target, body []byte, budget time.Duration) (retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	u := *t.url
	if t.Signed() {
		// Sign per attempt: DingTalk refuses timestamps an hour off.
		ts := s.now().UnixMilli()
		q := u.Query()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", dingTalkSign(t.secret, ts))
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot build the request") // its error would quote the URL
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "goship-notify")
	resp, err := client.Do(req)
	if err != nil {
		// A certificate that fails verification fails again.
		var certErr *tls.CertificateVerificationError
		return !errors.As(err, &certErr), transportError(actx, err, budget)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && (t.Kind == DingTalk || t.Kind == WeCom) {
		// Only these kinds need the body to know the outcome.
		return true, fmt.Errorf("HTTP %d, then reading the answer: %w", resp.StatusCode, transportError(actx, err, budget))
	}
	return checkAnswer(t.Kind, resp.StatusCode, answer)
}

// transportError drops net/http's URL (it holds the token) and says
// plainly when the server did not answer in time.
func transportError(actx context.Context, err error, budget time.Duration) error {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", budget.Round(time.Millisecond))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// Summary reports every target's result in a few lines for the run log,
// e.g. "notify: 1 of 2 sent" followed by one line per target.
func Summary(results []Result) string {
	if len(results) == 0 {
		return ""
	}
	sent := 0
	var lines []string
	for _, r := range results {
		took := roundDuration(r.Elapsed)
		if r.OK() {
			sent++
			lines = append(lines, fmt.Sprintf("  ok      %s (%s)", r.Target, took))
			continue
		}
		tries := "1 attempt"
		if r.Attempts != 1 {
			tries = fmt.Sprintf("%d attempts", r.Attempts)
		}
		lines = append(lines, fmt.Sprintf("  FAILED  %s: %v (%s, %s)", r.Target, r.Err, tries, took))
	}
	head := fmt.Sprintf("notify: %d of %d sent", sent, len(results))
	return head + "\n" + strings.Join(lines, "\n")
}
