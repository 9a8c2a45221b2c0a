package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goship-dev/goship/pipeline/outcome"
)

func TestTitle(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Kind: Deploy, App: "api", Version: "v2", Outcome: outcome.Succeeded}, "✅ api deploy succeeded: v2"},
		{Event{Kind: Deploy, App: "api", Version: "v2", Outcome: outcome.Failed}, "❌ api deploy failed: v2"},
		{Event{Kind: Deploy, App: "api", Version: "v2", Outcome: outcome.RolledBack}, "⚠️ api deploy failed, rolled back: v2"},
		{Event{Kind: Rollback, App: "api", Version: "v1", Outcome: outcome.Succeeded}, "✅ api rollback succeeded: v1"},
		{Event{Kind: Fleet, App: "api", Version: "v2", Outcome: outcome.RolledBack}, "⚠️ api fleet deploy failed, rolled back: v2"},
		{Event{Kind: Deploy, App: "api", Version: "v3", Outcome: outcome.Unchanged}, "⚠️ api deploy failed; the previous release still serves: v3"},
		{Event{Kind: Deploy, Outcome: outcome.Failed}, "❌ (unnamed app) deploy failed"},
		{Event{App: "api\nsecond line"}, "ℹ️ api second line run ended"},
	}
	for _, tc := range tests {
		if got := tc.ev.Title(); got != tc.want {
			t.Errorf("Title() = %q, want %q", got, tc.want)
		}
	}
}

func TestWeComMessage(t *testing.T) {
	got := renderText(sampleEvent(), WeCom)
	want := strings.Join([]string{
		"### ⚠️ shop-api deploy failed, rolled back: v1.4.2",
		"> Release: 20261124030000-v1.4.2 (was 20261120100000-v1.4.1)",
		"> Hosts (2): 10.0.0.5, 10.0.0.6",
		"> By: alice",
		"> Took: 42.3s",
		"> Reason: health gate: GET /healthz answered 503 for 30s (last: ‹html›Bad Gateway‹/html›)",
		"sent by goship",
	}, "\n")
	if got != want {
		t.Errorf("WeCom message:\n%s\nwant:\n%s", got, want)
	}
}

func TestMessagesStayShort(t *testing.T) {
	ev := sampleEvent()
	ev.Kind = Fleet
	ev.Hosts = nil
	for i := range 30 {
		ev.Hosts = append(ev.Hosts, fmt.Sprintf("ecs-%02d.cn-hangzhou.internal", i))
	}
	ev.Reason = strings.Repeat("部署失败：健康检查超时\n", 2000) // multi-byte, multi-line, ~66 KB
	ev.App = strings.Repeat("a", 5000)
	for _, k := range []Kind{DingTalk, WeCom, Slack} {
		b, err := Payload(k, ev)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s payload is not JSON: %v", k, err)
		}
		text := renderText(ev, k)
		if len(text) > 4096 {
			t.Errorf("%s message is %d bytes; WeCom refuses markdown over 4096", k, len(text))
		}
		if !utf8.ValidString(text) {
			t.Errorf("%s message cut inside a character", k)
		}
		if !strings.Contains(text, "and 18 more") || strings.Contains(text, "ecs-12") {
			t.Errorf("%s message lists hosts beyond the first 12", k)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, "Reason") && !strings.HasSuffix(line, "…") {
				t.Errorf("%s reason not cut: %q", k, line)
			}
		}
	}
	// The generic payload keeps the event whole: machines read it.
	b, _ := Payload(JSON, ev)
	var gm struct {
		Hosts  []string
		Reason string
	}
	_ = json.Unmarshal(b, &gm)
	if len(gm.Hosts) != 30 || gm.Reason != ev.Reason {
		t.Errorf("generic JSON trimmed the event: %d hosts, reason %d bytes", len(gm.Hosts), len(gm.Reason))
	}
}

func TestRoundDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond:    "850ms",
		42340 * time.Millisecond:  "42.3s",
		125400 * time.Millisecond: "2m5s",
	} {
		if got := roundDuration(d); got != want {
			t.Errorf("roundDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
