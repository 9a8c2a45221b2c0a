// Package notify tells people how a deploy, rollback or fleet run went: it
// posts one message per run to DingTalk and WeCom (企业微信) group bots,
// Slack-compatible webhooks and generic JSON webhooks. Webhook URLs carry
// tokens, so no error and no String() ever shows a query, a userinfo or a
// path beyond the host. A failed notification is reported, never fatal.
package notify

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// Kind is the message format a target speaks.
type Kind string

// The kinds notify knows.
const (
	// DingTalk is a DingTalk custom robot (钉钉自定义机器人), optionally signed.
	DingTalk Kind = "dingtalk"
	// WeCom is a WeCom group bot (企业微信群机器人).
	WeCom Kind = "wecom"
	// Slack is a Slack incoming webhook or anything that takes {"text": …}
	// (Mattermost, Rocket.Chat, …).
	Slack Kind = "slack"
	// JSON is a generic webhook that gets the event itself as JSON.
	JSON Kind = "json"
)

// kindOfHost picks the kind for a vendor's webhook host; other hosts get
// generic JSON.
func kindOfHost(host string) Kind {
	switch host {
	case "oapi.dingtalk.com":
		return DingTalk
	case "qyapi.weixin.qq.com":
		return WeCom
	case "hooks.slack.com":
		return Slack
	default:
		return JSON
	}
}

// prefixRE matches a format prefix such as "dingtalk+https://…". Only a
// short word qualifies, so a bare token containing '+' is never echoed.
var prefixRE = regexp.MustCompile(`(?i)^([a-z]{1,12})\+(https?://.*)$`)

// Target is a validated webhook. Its zero value is not usable; make one
// with ParseTarget.
type Target struct {
	Kind Kind
	// url is what is posted to: the signing secret is already removed.
	url *url.URL
	// secret signs DingTalk requests (加签); empty when unsigned.
	secret string
	// sensitive holds every fragment of the URL that may be a credential,
	// to scrub from text that servers send back.
	sensitive []string
}

// Signed reports whether requests are signed (DingTalk 加签).
func (t Target) Signed() bool { return t.secret != "" }

// String names the target without its credentials, e.g.
// "dingtalk https://oapi.dingtalk.com/… (signed)".
func (t Target) String() string {
	if t.url == nil {
		return "invalid notify target"
	}
	s := string(t.Kind) + " " + redact(t.url)
	if t.Signed() {
		s += " (signed)"
	}
	return s
}

// redact keeps scheme, host and port: paths carry tokens too
// (Slack's /services/T…/B…/<token>, Feishu's /hook/<token>).
func redact(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

const targetForms = "https://oapi.dingtalk.com/robot/send?access_token=…[&secret=SEC…], https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…, https://hooks.slack.com/services/…, or any https URL for generic JSON; prefix dingtalk+, wecom+, slack+ or json+ to choose the format for another host"

// ParseTarget validates a webhook URL and picks its kind from the host,
// or from an explicit prefix such as "dingtalk+https://…". For DingTalk, a
// "secret" query parameter is the signing secret: it is removed from the
// URL and used to sign every request. Errors never contain the URL's
// credentials.
func ParseTarget(raw string) (Target, error) {
	raw = strings.TrimSpace(raw) // secrets read from files end in a newline
	if raw == "" {
		return Target{}, errors.New("notify target is empty: want " + targetForms)
	}
	var kind Kind
	if m := prefixRE.FindStringSubmatch(raw); m != nil {
		switch k := Kind(strings.ToLower(m[1])); k {
		case DingTalk, WeCom, Slack, JSON:
			kind, raw = k, m[2]
		default:
			return Target{}, fmt.Errorf("notify target: unknown format prefix %q: want dingtalk+, wecom+, slack+ or json+", m[1])
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, token included: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Target{}, fmt.Errorf("notify target is not a valid URL (%w): want %s", err, targetForms)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	host := u.Hostname()
	if host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Target{}, fmt.Errorf("notify target %s: want an http(s) URL with a host: %s", safeShape(u), targetForms)
	}
	if u.Scheme == "http" && !plainHTTPAllowed(host) {
		return Target{}, fmt.Errorf("notify target %s: plain http would send the webhook's token in the clear; use https (http is allowed only for loopback and private IP addresses)", redact(u))
	}
	if kind == "" {
		if host == "open.feishu.cn" || host == "open.larksuite.com" {
			// Feishu answers a foreign payload with HTTP 200 and an error
			// code: as generic JSON it would look delivered when it was not.
			return Target{}, fmt.Errorf("notify target %s: Feishu/Lark bots are not supported yet; use a DingTalk, WeCom or Slack-compatible webhook", redact(u))
		}
		kind = kindOfHost(host)
	}
	t := Target{Kind: kind, url: u}
	q := u.Query()
	if kind == DingTalk {
		if q.Has("secret") {
			t.secret = q.Get("secret")
			if t.secret == "" {
				return Target{}, fmt.Errorf("notify target %s: secret= is empty: give the robot's signing secret (SEC…) from its security settings, or drop the parameter", redact(u))
			}
			q.Del("secret")
		}
		if q.Has("sign") || q.Has("timestamp") {
			return Target{}, fmt.Errorf("notify target %s: the URL carries a fixed timestamp and sign, which DingTalk refuses after an hour; give the signing secret instead as secret=SEC… and goship signs each message", redact(u))
		}
		u.RawQuery = q.Encode()
	}
	if err := vendorChecks(kind, u, q); err != nil {
		return Target{}, err
	}
	t.sensitive = sensitiveParts(u, t.secret)
	return t, nil
}

// ParseTargets parses several targets; an error names the position of
// the bad one (1-based), never its URL.
func ParseTargets(raws []string) ([]Target, error) {
	out := make([]Target, 0, len(raws))
	for i, raw := range raws {
		t, err := ParseTarget(raw)
		if err != nil {
			return nil, fmt.Errorf("notify target #%d: %w", i+1, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// vendorChecks catches URLs copied incompletely from a vendor's console.
func vendorChecks(kind Kind, u *url.URL, q url.Values) error {
	switch host := u.Hostname(); {
	case kind == DingTalk && host == "oapi.dingtalk.com" && q.Get("access_token") == "":
		return fmt.Errorf("notify target %s: DingTalk webhook URL has no access_token; copy the whole Webhook address from the robot's settings", redact(u))
	case kind == WeCom && host == "qyapi.weixin.qq.com" && q.Get("key") == "":
		return fmt.Errorf("notify target %s: WeCom webhook URL has no key; copy the whole Webhook address from the group bot's settings", redact(u))
	case kind == Slack && host == "hooks.slack.com" && !strings.HasPrefix(u.Path, "/services/"):
		return fmt.Errorf("notify target %s: Slack webhook URLs look like https://hooks.slack.com/services/T…/B…/…", redact(u))
	}
	return nil
}

// plainHTTPAllowed admits http for loopback (tests, local relays) and
// private IP literals (in-VPC relays, and the host as seen from the Dagger
// engine's containers, 10.87.0.1): typing one is a deliberate choice, a
// public host over http is more likely a slip that leaks the token.
func plainHTTPAllowed(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.IsLoopback() || ip.IsPrivate()
}

// safeShape describes a URL that failed validation without its
// credentials: the scheme and host only.
func safeShape(u *url.URL) string {
	if u.Host == "" {
		return "(no host)"
	}
	if u.Scheme == "" {
		return u.Host
	}
	return redact(u)
}

// sensitiveParts lists URL fragments that may be credentials. Short path
// segments ("robot", "send", "services") stay readable; tokens are long.
func sensitiveParts(u *url.URL, secret string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 4 {
			out = append(out, s)
		}
	}
	add(secret)
	if u.User != nil {
		add(u.User.Username())
		p, _ := u.User.Password()
		add(p)
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 8 {
			add(seg)
		}
	}
	return out
}

// scrub replaces every credential fragment of t in s, for text that comes
// back from servers or the network stack.
func (t Target) scrub(s string) string {
	for _, p := range t.sensitive {
		s = strings.ReplaceAll(s, p, "***")
		if esc := url.QueryEscape(p); esc != p {
			s = strings.ReplaceAll(s, esc, "***")
		}
	}
	return s
}
