package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Payload is the request body a target of kind k gets for ev.
func Payload(k Kind, ev Event) ([]byte, error) {
	var v any
	switch k {
	case DingTalk:
		v = map[string]any{
			"msgtype":  "markdown",
			"markdown": map[string]string{"title": clean(ev.Title(), maxValue), "text": renderText(ev, DingTalk)},
		}
	case WeCom:
		v = map[string]any{
			"msgtype":  "markdown",
			"markdown": map[string]string{"content": renderText(ev, WeCom)},
		}
	case Slack:
		// Only "text": Slack-compatible servers (Mattermost, Rocket.Chat)
		// ignore or reject Block Kit, and the text renders alike everywhere.
		v = map[string]string{"text": renderText(ev, Slack)}
	case JSON:
		v = ev
	default:
		return nil, fmt.Errorf("notify: unknown target kind %q", k)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("notify: encode %s payload: %w", k, err)
	}
	return b, nil
}

// dingTalkSign is DingTalk's 加签: base64(HMAC-SHA256(key=secret,
// msg=timestamp+"\n"+secret)) with the timestamp in milliseconds. The
// caller URL-encodes it as the sign query parameter.
func dingTalkSign(secret string, timestampMS int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMS, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// vendorAnswer is how DingTalk and WeCom report the result: HTTP 200 with
// errcode 0, or HTTP 200 with another errcode and a reason.
type vendorAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// errcode hints for the refusals users can fix themselves.
func errcodeHint(k Kind, code int) string {
	switch {
	case k == DingTalk && code == 310000:
		return " (check the robot's security settings: the signing secret, the keyword — every message contains \"goship\" — or the IP allowlist)"
	case k == DingTalk && code == 130101, k == WeCom && code == 45009:
		return " (the bot takes at most 20 messages a minute)"
	case k == WeCom && code == 93000:
		return " (the webhook key is wrong or the bot was removed from the group)"
	}
	return ""
}

// checkAnswer decides whether a response means delivered. retry is true
// only for server-side trouble that one more try may fix (5xx).
func checkAnswer(k Kind, status int, body []byte) (retry bool, err error) {
	switch {
	case status >= 500:
		return true, fmt.Errorf("server error: HTTP %d%s", status, excerpt(body))
	case status == http.StatusTooManyRequests:
		return false, fmt.Errorf("rate limited: HTTP 429%s", excerpt(body))
	case status >= 300 && status < 400:
		return false, fmt.Errorf("answered with a redirect (HTTP %d), which notify does not follow; give the final webhook URL", status)
	case status < 200 || status >= 300:
		return false, fmt.Errorf("refused: HTTP %d%s", status, excerpt(body))
	}
	if k != DingTalk && k != WeCom {
		return false, nil // Slack and generic webhooks say no with a status
	}
	var a vendorAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.ErrCode == nil {
		return false, fmt.Errorf("answer is not a %s reply (no errcode)%s", vendorName(k), excerpt(body))
	}
	if *a.ErrCode != 0 {
		return false, fmt.Errorf("%s refused the message: errcode %d: %s%s", vendorName(k), *a.ErrCode, clean(a.ErrMsg, maxValue), errcodeHint(k, *a.ErrCode))
	}
	return false, nil
}

func vendorName(k Kind) string {
	if k == WeCom {
		return "WeCom"
	}
	return "DingTalk"
}

// excerpt shows the start of a response body on one line.
func excerpt(body []byte) string {
	s := clean(string(body), maxValue)
	if s == "" {
		return ""
	}
	return ": " + strconv.Quote(s)
}
