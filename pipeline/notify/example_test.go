package notify_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/goship-dev/goship/pipeline/notify"
	"github.com/goship-dev/goship/pipeline/outcome"
)

func ExampleParseTarget() {
	t, err := notify.ParseTarget("https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef&secret=SEC0123456789abcdef")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Kind, t.Signed())
	fmt.Println(t)

	_, err = notify.ParseTarget("http://hooks.example.com/0123456789abcdef")
	fmt.Println(err)
	// Output:
	// dingtalk true
	// dingtalk https://oapi.dingtalk.com/… (signed)
	// notify target http://hooks.example.com/…: plain http would send the webhook's token in the clear; use https (http is allowed only for loopback and private IP addresses)
}

// A deploy parses its targets before changing anything, and reports the
// notifications after, whatever the deploy's outcome.
func ExampleSend() {
	targets, err := notify.ParseTargets([]string{os.Getenv("DINGTALK_WEBHOOK")})
	if err != nil {
		fmt.Println(err) // stop before deploying: bad input
		return
	}
	start := time.Now()
	// … deploy …
	ctx := context.WithoutCancel(context.Background()) // send even if the deploy was cancelled
	results := notify.Send(ctx, targets, notify.Event{
		Kind: notify.Deploy, App: "shop-api", Version: "v1.4.2",
		Hosts: []string{"10.0.0.5"}, Outcome: outcome.Succeeded,
		Who: "alice", Duration: time.Since(start),
	})
	fmt.Println(notify.Summary(results))
}
