package main

import (
	"context"
	"strings"

	"github.com/goship-dev/goship/internal/dagger"
	"github.com/goship-dev/goship/pipeline/notify"
)

// notifyTargets parses the webhook URLs given as secrets (they carry
// tokens), naming the bad one without its value.
func notifyTargets(ctx context.Context, secrets []*dagger.Secret) ([]notify.Target, error) {
	var raws []string
	for _, n := range secrets {
		plain, err := n.Plaintext(ctx)
		if err != nil {
			return nil, err
		}
		raws = append(raws, strings.TrimSpace(plain))
	}
	return notify.ParseTargets(raws)
}

// tellWebhooks sends ev to the webhooks and says how that went; a failed
// notification never fails the run, and it is sent even when the caller
// has given up.
func tellWebhooks(ctx context.Context, secrets []*dagger.Secret, ev notify.Event) string {
	targets, err := notifyTargets(ctx, secrets)
	if err != nil || len(targets) == 0 {
		return ""
	}
	return notify.Summary(notify.Send(context.WithoutCancel(ctx), targets, ev))
}
