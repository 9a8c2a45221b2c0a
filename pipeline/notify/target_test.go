package notify

import (
	"strings"
	"testing"
)

// Credential-looking strings used in URLs below; none may appear in an
// error or a String().
const (
	tok    = "tok3n5ecretAbcdef0123456789"
	sec    = "SECsigningSecret0123456789abcdef"
	wkey   = "693axxx6-7aoc-4bc4-97a0-0ec2sifa5aaa"
	slackT = "XXXXXXXXslacktokenXXXXXXXX"
	pass   = "basicPassw0rd"
)

var credentials = []string{tok, sec, wkey, slackT, pass}

func assertNoCredentials(t *testing.T, what, s string) {
	t.Helper()
	for _, c := range credentials {
		if strings.Contains(s, c) {
			t.Errorf("%s leaks a credential %q: %s", what, c, s)
		}
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		kind    Kind
		signed  bool
		str     string // want String()
		postURL string // want the URL posted to (before signing)
		wantErr string // substring of the error; "" means valid
	}{
		{name: "dingtalk by host", raw: "https://oapi.dingtalk.com/robot/send?access_token=" + tok,
			kind: DingTalk, str: "dingtalk https://oapi.dingtalk.com/…",
			postURL: "https://oapi.dingtalk.com/robot/send?access_token=" + tok},
		{name: "dingtalk signed, secret leaves the URL", raw: "https://oapi.dingtalk.com/robot/send?access_token=" + tok + "&secret=" + sec,
			kind: DingTalk, signed: true, str: "dingtalk https://oapi.dingtalk.com/… (signed)",
			postURL: "https://oapi.dingtalk.com/robot/send?access_token=" + tok},
		{name: "wecom by host", raw: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + wkey,
			kind: WeCom, str: "wecom https://qyapi.weixin.qq.com/…"},
		{name: "slack by host", raw: "https://hooks.slack.com/services/T00000000/B00000000/" + slackT,
			kind: Slack, str: "slack https://hooks.slack.com/…"},
		{name: "other host is generic json", raw: "https://hooks.example.com/deploys",
			kind: JSON, str: "json https://hooks.example.com/…"},
		{name: "host without path", raw: "https://hooks.example.com", kind: JSON, str: "json https://hooks.example.com"},
		{name: "host is case-insensitive", raw: "HTTPS://OAPI.DingTalk.com/robot/send?access_token=" + tok, kind: DingTalk},
		{name: "surrounding whitespace from a secret file", raw: "  https://hooks.slack.com/services/T0/B0/" + slackT + "\n", kind: Slack},
		{name: "prefix overrides detection", raw: "dingtalk+http://127.0.0.1:8080/robot/send?access_token=" + tok + "&secret=" + sec,
			kind: DingTalk, signed: true, str: "dingtalk http://127.0.0.1:8080/… (signed)"},
		{name: "prefix is case-insensitive", raw: "WeCom+https://relay.example.com/x", kind: WeCom},
		{name: "json prefix on a vendor host", raw: "json+https://hooks.slack.com/services/T0/B0/" + slackT, kind: JSON},
		{name: "slack prefix for mattermost", raw: "slack+https://chat.example.com/hooks/" + slackT, kind: Slack},
		{name: "http on localhost", raw: "http://localhost:9000/hook", kind: JSON},
		{name: "http on ipv6 loopback", raw: "http://[::1]:9000/hook", kind: JSON},
		{name: "http on a private IP (engine's view of the host)", raw: "http://10.87.0.1:9000/hook", kind: JSON},
		{name: "basic auth is redacted", raw: "https://user:" + pass + "@hooks.example.com/x", kind: JSON, str: "json https://hooks.example.com/…"},
		{name: "fragment dropped", raw: "https://hooks.example.com/x#frag", kind: JSON, postURL: "https://hooks.example.com/x"},
		{name: "secret is a plain parameter for other kinds", raw: "https://hooks.example.com/x?secret=" + sec, kind: JSON,
			postURL: "https://hooks.example.com/x?secret=" + sec},

		{name: "empty", raw: " \n", wantErr: "empty"},
		{name: "no scheme", raw: "oapi.dingtalk.com/robot/send?access_token=" + tok, wantErr: "want an http(s) URL"},
		{name: "bare token", raw: tok, wantErr: "want an http(s) URL"},
		{name: "bare base64 secret with plus", raw: "abc+def" + sec, wantErr: "want an http(s) URL"},
		{name: "other scheme", raw: "ftp://hooks.example.com/" + tok, wantErr: "want an http(s) URL"},
		{name: "no host", raw: "https:///robot/send?access_token=" + tok, wantErr: "(no host)"},
		{name: "unparseable", raw: "https://hooks.example.com/%zz?access_token=" + tok, wantErr: "not a valid URL"},
		{name: "bad host", raw: "https://hooks example.com/?k=" + tok, wantErr: "not a valid URL"},
		{name: "http on a public host", raw: "http://oapi.dingtalk.com/robot/send?access_token=" + tok, wantErr: "use https"},
		{name: "http on a public name resolving anywhere", raw: "http://hooks.example.com/" + tok, wantErr: "use https"},
		{name: "unknown prefix", raw: "teams+https://hooks.example.com/x", wantErr: `unknown format prefix "teams"`},
		{name: "dingtalk without token", raw: "https://oapi.dingtalk.com/robot/send?secret=" + sec, wantErr: "no access_token"},
		{name: "dingtalk empty secret", raw: "https://oapi.dingtalk.com/robot/send?access_token=" + tok + "&secret=", wantErr: "secret= is empty"},
		{name: "dingtalk pre-signed URL expires", raw: "https://oapi.dingtalk.com/robot/send?access_token=" + tok + "&timestamp=1700000000000&sign=abc", wantErr: "fixed timestamp and sign"},
		{name: "wecom without key", raw: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?k=" + wkey, wantErr: "no key"},
		{name: "feishu is not mistaken for generic json", raw: "https://open.feishu.cn/open-apis/bot/v2/hook/" + wkey, wantErr: "Feishu/Lark bots are not supported"},
		{name: "slack not a services URL", raw: "https://hooks.slack.com/workflows/" + slackT, wantErr: "hooks.slack.com/services"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.raw)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseTarget(%q) = %v, want an error containing %q", tc.raw, got, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
				}
				assertNoCredentials(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget: %v", err)
			}
			if got.Kind != tc.kind || got.Signed() != tc.signed {
				t.Errorf("kind %s signed %v, want %s signed %v", got.Kind, got.Signed(), tc.kind, tc.signed)
			}
			if tc.str != "" && got.String() != tc.str {
				t.Errorf("String() = %q, want %q", got.String(), tc.str)
			}
			assertNoCredentials(t, "String()", got.String())
			if tc.postURL != "" && got.url.String() != tc.postURL {
				t.Errorf("posts to %q, want %q", got.url.String(), tc.postURL)
			}
			if strings.Contains(got.url.String(), sec) && got.Kind == DingTalk {
				t.Errorf("DingTalk signing secret left in the posted URL")
			}
		})
	}
}

func TestParseTargetsNamesThePosition(t *testing.T) {
	_, err := ParseTargets([]string{"https://hooks.example.com/a", "http://hooks.example.com/" + tok})
	if err == nil || !strings.HasPrefix(err.Error(), "notify target #2:") {
		t.Fatalf("error %v, want it to name target #2", err)
	}
	assertNoCredentials(t, "error", err.Error())
	got, err := ParseTargets([]string{"https://hooks.example.com/a", "https://hooks.slack.com/services/T/B/" + slackT})
	if err != nil || len(got) != 2 || got[1].Kind != Slack {
		t.Fatalf("ParseTargets = %v, %v", got, err)
	}
}
