package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
)

// withClock makes Send sign with another clock, to see DingTalk refuse a
// stale timestamp.
func withClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// request is what a bot received.
type request struct {
	rawQuery string
	query    url.Values
	path     string
	header   http.Header
	body     []byte
}

// bot is a local stand-in for a chat bot's webhook (on 127.0.0.1): answer
// checks each request the way the vendor documents and answers like it.
type bot struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []request
	answer func(w http.ResponseWriter, r request, n int)
}

func newBot(t *testing.T, answer func(w http.ResponseWriter, r request, n int)) *bot {
	t.Helper()
	b := &bot{answer: answer}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{rawQuery: r.URL.RawQuery, query: r.URL.Query(), path: r.URL.Path, header: r.Header.Clone(), body: body}
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			http.Error(w, "want a JSON POST", http.StatusMethodNotAllowed)
			return
		}
		b.mu.Lock()
		b.got = append(b.got, req)
		n := len(b.got)
		b.mu.Unlock()
		b.answer(w, req, n)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bot) requests() []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// target makes a target for this bot with an explicit kind prefix.
func (b *bot) target(t *testing.T, kind Kind, pathAndQuery string) Target {
	t.Helper()
	tg, err := ParseTarget(string(kind) + "+" + b.srv.URL + pathAndQuery)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func vendorReply(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

// strictDecode fails on any field the vendor does not document.
func strictDecode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// dingTalkSignature is DingTalk's documented 加签, written out again here
// rather than calling the package: HmacSHA256 keyed with the secret over
// timestamp+"\n"+secret, then Base64.
func dingTalkSignature(secret, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, timestamp)
	_, _ = io.WriteString(mac, "\n")
	_, _ = io.WriteString(mac, secret)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// dingTalkBot checks the token, the signature (when secret is set) with
// DingTalk's one-hour window, and the markdown message shape.
func dingTalkBot(t *testing.T, token, secret string) *bot {
	return newBot(t, func(w http.ResponseWriter, r request, _ int) {
		if r.query.Get("access_token") != token {
			vendorReply(w, 300001, "token is not exist")
			return
		}
		if secret != "" {
			ts := r.query.Get("timestamp")
			ms, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				vendorReply(w, 310000, "invalid timestamp")
				return
			}
			if d := time.Since(time.UnixMilli(ms)); d > time.Hour || d < -time.Hour {
				vendorReply(w, 310000, "invalid timestamp "+ts)
				return
			}
			// Query() decoded the parameter once: a double-encoded sign
			// still holds %2B and fails here, as it does at DingTalk.
			if r.query.Get("sign") != dingTalkSignature(secret, ts) {
				vendorReply(w, 310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")
				return
			}
		}
		var msg struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Title string `json:"title"`
				Text  string `json:"text"`
			} `json:"markdown"`
		}
		if err := strictDecode(r.body, &msg); err != nil || msg.MsgType != "markdown" || msg.Markdown.Title == "" || msg.Markdown.Text == "" {
			vendorReply(w, 40035, fmt.Sprintf("缺少参数 json: %v", err))
			return
		}
		vendorReply(w, 0, "ok")
	})
}

// weComBot checks the key and the markdown message shape and size.
func weComBot(t *testing.T, key string) *bot {
	return newBot(t, func(w http.ResponseWriter, r request, _ int) {
		if r.query.Get("key") != key {
			// WeCom quotes what it got; notify must scrub it.
			vendorReply(w, 93000, "invalid webhook url, hint: [key="+r.query.Get("key")+"]")
			return
		}
		var msg struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		if err := strictDecode(r.body, &msg); err != nil || msg.MsgType != "markdown" || msg.Markdown.Content == "" {
			vendorReply(w, 40008, fmt.Sprintf("invalid message type: %v", err))
			return
		}
		if len(msg.Markdown.Content) > 4096 {
			vendorReply(w, 40058, "markdown.content exceed max length 4096")
			return
		}
		vendorReply(w, 0, "ok")
	})
}

// slackBot checks the token in the path and the {"text"} shape.
func slackBot(t *testing.T, token string) *bot {
	return newBot(t, func(w http.ResponseWriter, r request, _ int) {
		if !strings.HasSuffix(r.path, "/"+token) {
			http.Error(w, "invalid_token", http.StatusForbidden)
			return
		}
		var msg struct {
			Text string `json:"text"`
		}
		if err := strictDecode(r.body, &msg); err != nil || msg.Text == "" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
}

func sampleEvent() Event {
	return Event{
		Kind: Deploy, App: "shop-api", Version: "v1.4.2",
		Image:   "registry.cn-hangzhou.aliyuncs.com/acme/shop-api:v1.4.2",
		Release: "20261124030000-v1.4.2", Previous: "20261120100000-v1.4.1",
		Hosts:   []string{"10.0.0.5", "10.0.0.6"},
		Outcome: outcome.RolledBack, Who: "alice", Duration: 42300 * time.Millisecond,
		Reason: "health gate: GET /healthz answered 503 for 30s\n(last: <html>Bad Gateway</html>)",
		Time:   time.Date(2026, 11, 24, 3, 0, 5, 0, time.UTC),
	}
}

// What every chat message must tell: app, version, hosts, outcome, who,
// duration, reason, and the keyword for DingTalk's keyword check.
var mustTell = []string{"shop-api", "v1.4.2", "10.0.0.5", "10.0.0.6", "rolled back", "alice", "42.3s", "health gate: GET /healthz answered 503 for 30s", "goship"}

func TestSendPayloadShapes(t *testing.T) {
	ding := dingTalkBot(t, tok, "")
	wecom := weComBot(t, wkey)
	slack := slackBot(t, slackT)
	generic := newBot(t, func(w http.ResponseWriter, _ request, _ int) { w.WriteHeader(http.StatusNoContent) })
	targets := []Target{
		ding.target(t, DingTalk, "/robot/send?access_token="+tok),
		wecom.target(t, WeCom, "/cgi-bin/webhook/send?key="+wkey),
		slack.target(t, Slack, "/services/T0/B0/"+slackT),
		generic.target(t, JSON, "/deploys"),
	}
	results := Send(context.Background(), targets, sampleEvent())
	for _, r := range results {
		if !r.OK() || r.Attempts != 1 {
			t.Errorf("%s: %v after %d attempts", r.Target, r.Err, r.Attempts)
		}
	}

	one := func(b *bot) []byte {
		t.Helper()
		got := b.requests()
		if len(got) != 1 {
			t.Fatalf("%s got %d requests, want 1", b.srv.URL, len(got))
		}
		return got[0].body
	}
	var dm struct{ Markdown struct{ Title, Text string } }
	_ = json.Unmarshal(one(ding), &dm)
	var wm struct{ Markdown struct{ Content string } }
	_ = json.Unmarshal(one(wecom), &wm)
	var sm struct{ Text string }
	_ = json.Unmarshal(one(slack), &sm)
	for kind, text := range map[string]string{"dingtalk": dm.Markdown.Text, "wecom": wm.Markdown.Content, "slack": sm.Text} {
		for _, s := range mustTell {
			if !strings.Contains(text, s) {
				t.Errorf("%s message lacks %q:\n%s", kind, s, text)
			}
		}
		if strings.Contains(text, "<html>") {
			t.Errorf("%s message passes markup from the reason through:\n%s", kind, text)
		}
	}
	if want := "⚠️ shop-api deploy failed, rolled back: v1.4.2"; dm.Markdown.Title != want {
		t.Errorf("DingTalk title %q, want %q", dm.Markdown.Title, want)
	}

	// The generic payload is the event under fixed names.
	var gm map[string]any
	if err := json.Unmarshal(one(generic), &gm); err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(gm))
	for k := range gm {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"app", "duration_ms", "hosts", "image", "kind", "outcome", "previous", "reason", "release", "text", "time", "version", "who"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("generic JSON keys %v, want %v", keys, wantKeys)
	}
	for k, want := range map[string]any{"kind": "deploy", "outcome": "rolled-back", "app": "shop-api", "who": "alice",
		"duration_ms": 42300.0, "time": "2026-11-24T03:00:05Z", "previous": "20261120100000-v1.4.1"} {
		if gm[k] != want {
			t.Errorf("generic JSON %s = %v, want %v", k, gm[k], want)
		}
	}
	if h, _ := gm["hosts"].([]any); len(h) != 2 || h[1] != "10.0.0.6" {
		t.Errorf("generic JSON hosts = %v", gm["hosts"])
	}
}

func TestDingTalkSignature(t *testing.T) {
	t.Run("documented algorithm", func(t *testing.T) {
		// Vector computed with the Python sample from DingTalk's docs
		// (hmac.new(secret, f"{ts}\n{secret}", sha256), base64, quote_plus).
		const want = "HSo4otzodoEFGujZo/Itiq5S1p1Ws5OYf1+j8s45PMg="
		if got := dingTalkSign("SECthis is secret", 1577836800000); got != want {
			t.Errorf("sign = %s, want %s", got, want)
		}
		if got := dingTalkSignature("SECthis is secret", "1577836800000"); got != want {
			t.Errorf("the test's own signature = %s, want %s", got, want)
		}
	})

	t.Run("signed message accepted, encoded once", func(t *testing.T) {
		b := dingTalkBot(t, tok, sec)
		tg := b.target(t, DingTalk, "/robot/send?access_token="+tok+"&secret="+sec)
		r := Send(context.Background(), []Target{tg}, sampleEvent())[0]
		if !r.OK() {
			t.Fatalf("signed send: %v", r.Err)
		}
		got := b.requests()[0]
		if strings.Contains(got.rawQuery, sec) || bytes.Contains(got.body, []byte(sec)) {
			t.Errorf("signing secret sent to the server: %s", got.rawQuery)
		}
		want := "sign=" + url.QueryEscape(dingTalkSignature(sec, got.query.Get("timestamp")))
		if !strings.Contains(got.rawQuery, want) {
			t.Errorf("raw query %q lacks %q", got.rawQuery, want)
		}
	})

	t.Run("wrong secret refused", func(t *testing.T) {
		b := dingTalkBot(t, tok, sec)
		tg := b.target(t, DingTalk, "/robot/send?access_token="+tok+"&secret=SECsomethingElse000")
		r := Send(context.Background(), []Target{tg}, sampleEvent())[0]
		if r.OK() || !strings.Contains(r.Err.Error(), "errcode 310000: sign not match") {
			t.Fatalf("wrong secret: %v, want errcode 310000", r.Err)
		}
	})

	t.Run("stale timestamp refused", func(t *testing.T) {
		b := dingTalkBot(t, tok, sec)
		tg := b.target(t, DingTalk, "/robot/send?access_token="+tok+"&secret="+sec)
		skewed := func() time.Time { return time.Now().Add(-61 * time.Minute) }
		r := Send(context.Background(), []Target{tg}, sampleEvent(), withClock(skewed))[0]
		if r.OK() || !strings.Contains(r.Err.Error(), "invalid timestamp") {
			t.Fatalf("stale timestamp: %v, want invalid timestamp", r.Err)
		}
		assertNoCredentials(t, "error", r.Err.Error())
	})
}

func TestVendorErrcodeIsAFailure(t *testing.T) {
	ding := dingTalkBot(t, "another-token-0000", "")
	wecom := weComBot(t, "another-key-0000")
	results := Send(context.Background(), []Target{
		ding.target(t, DingTalk, "/robot/send?access_token="+tok),
		wecom.target(t, WeCom, "/cgi-bin/webhook/send?key="+wkey),
	}, sampleEvent())
	for i, want := range []string{"DingTalk refused the message: errcode 300001: token is not exist", "WeCom refused the message: errcode 93000: invalid webhook url"} {
		r := results[i]
		if r.OK() || !strings.Contains(r.Err.Error(), want) {
			t.Errorf("%s: %v, want %q", r.Target, r.Err, want)
		}
		if r.Attempts != 1 {
			t.Errorf("%s: %d attempts; a refusal is not retried", r.Target, r.Attempts)
		}
	}
	sum := Summary(results)
	if !strings.HasPrefix(sum, "notify: 0 of 2 sent\n") || strings.Count(sum, "FAILED") != 2 {
		t.Errorf("summary:\n%s", sum)
	}
	// WeCom echoed the key back; it must not reach the log.
	assertNoCredentials(t, "summary", sum)
}

func TestHangingServerDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	hang := newBot(t, func(_ http.ResponseWriter, _ request, _ int) { <-release })
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for handlers
	slack := slackBot(t, slackT)
	const timeout = 600 * time.Millisecond
	start := time.Now()
	results := Send(context.Background(), []Target{
		hang.target(t, DingTalk, "/robot/send?access_token="+tok+"&secret="+sec),
		hang.target(t, JSON, "/hook/"+tok),
		slack.target(t, Slack, "/services/T0/B0/"+slackT),
	}, sampleEvent(), WithTimeout(timeout))
	took := time.Since(start)
	if took > timeout+400*time.Millisecond {
		t.Errorf("Send took %s with a %s timeout", took, timeout)
	}
	for _, r := range results[:2] {
		if r.OK() || !strings.Contains(r.Err.Error(), "no answer within") || r.Attempts != 2 {
			t.Errorf("%s: %v after %d attempts, want no answer after 2", r.Target, r.Err, r.Attempts)
		}
		assertNoCredentials(t, "error", r.Err.Error())
	}
	if !results[2].OK() {
		t.Errorf("a hanging target held up another: %v", results[2].Err)
	}
	if n := len(hang.requests()); n != 4 {
		t.Errorf("hanging server got %d requests, want 2 per target", n)
	}
}

func TestRetryOnlyOnceAndOnlyOnServerErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    func(n int) int
		wantOK    bool
		wantCalls int
		wantErr   string
	}{
		{"503 then ok", func(n int) int {
			if n == 1 {
				return 503
			}
			return 200
		}, true, 2, ""},
		{"always 502", func(int) int { return 502 }, false, 2, "server error: HTTP 502"},
		{"429 not retried", func(int) int { return 429 }, false, 1, "rate limited"},
		{"404 not retried", func(int) int { return 404 }, false, 1, "refused: HTTP 404"},
		{"redirect not followed", func(int) int { return 302 }, false, 1, "redirect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBot(t, func(w http.ResponseWriter, _ request, n int) {
				s := tc.status(n)
				if s == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(s)
				_, _ = io.WriteString(w, "ok")
			})
			r := Send(context.Background(), []Target{b.target(t, Slack, "/services/T0/B0/"+slackT)}, sampleEvent())[0]
			if r.OK() != tc.wantOK || (tc.wantErr != "" && !strings.Contains(r.Err.Error(), tc.wantErr)) {
				t.Errorf("result %v, want ok=%v err~%q", r.Err, tc.wantOK, tc.wantErr)
			}
			if n := len(b.requests()); n != tc.wantCalls || r.Attempts != tc.wantCalls {
				t.Errorf("server got %d requests, result says %d attempts; want %d", n, r.Attempts, tc.wantCalls)
			}
		})
	}
}

func TestUnreachableTarget(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	tg, err := ParseTarget("dingtalk+" + addr + "/robot/send?access_token=" + tok + "&secret=" + sec)
	if err != nil {
		t.Fatal(err)
	}
	r := Send(context.Background(), []Target{tg}, sampleEvent(), WithTimeout(2*time.Second))[0]
	if r.OK() || !strings.Contains(r.Err.Error(), "connection refused") || r.Attempts != 2 {
		t.Fatalf("%v after %d attempts, want connection refused after 2", r.Err, r.Attempts)
	}
	assertNoCredentials(t, "error", r.Err.Error())
	assertNoCredentials(t, "summary", Summary([]Result{r}))
}

func TestAnswerReadsAreBounded(t *testing.T) {
	huge := newBot(t, func(w http.ResponseWriter, _ request, _ int) {
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 64 { // 64 MiB unless the client stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	r := Send(context.Background(), []Target{huge.target(t, WeCom, "/send?key="+wkey)}, sampleEvent())[0]
	if r.OK() || !strings.Contains(r.Err.Error(), "not a WeCom reply") {
		t.Fatalf("%v, want a failure for a non-JSON answer", r.Err)
	}
	if len(r.Err.Error()) > 400 {
		t.Errorf("error is %d bytes long; the answer's excerpt must be bounded", len(r.Err.Error()))
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	b := slackBot(t, slackT)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := Send(ctx, []Target{b.target(t, Slack, "/services/T0/B0/"+slackT)}, sampleEvent())[0]
	if r.OK() || !strings.Contains(r.Err.Error(), "not sent: context canceled") || r.Attempts != 1 {
		t.Errorf("%v after %d attempts, want not sent after 1", r.Err, r.Attempts)
	}
}

func TestSendOverTLSWithTransport(t *testing.T) {
	bodies := make(chan []byte, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
		vendorReply(w, 0, "ok")
	}))
	t.Cleanup(srv.Close)
	tg, err := ParseTarget("wecom+" + srv.URL + "/cgi-bin/webhook/send?key=" + wkey)
	if err != nil {
		t.Fatal(err)
	}
	// Without the test CA the certificate is refused, and that is reported.
	// Without the test CA the certificate is refused, reported, not retried.
	if r := Send(context.Background(), []Target{tg}, sampleEvent())[0]; r.OK() || !strings.Contains(r.Err.Error(), "certificate") || r.Attempts != 1 {
		t.Errorf("untrusted certificate: %v after %d attempts, want a certificate error after 1", r.Err, r.Attempts)
	}
	r := Send(context.Background(), []Target{tg}, sampleEvent(), WithTransport(srv.Client().Transport))[0]
	if !r.OK() {
		t.Fatalf("send over TLS: %v", r.Err)
	}
	if got := <-bodies; !bytes.Contains(got, []byte(`"msgtype":"markdown"`)) {
		t.Errorf("WeCom got %s", got)
	}
}
