package main

import (
	"context"
	"fmt"

	"github.com/goship-dev/goship/internal/dagger"
)

// ciAndPublish is the first half of every target's release: ci, then
// publish, and the verified reference. Nothing is pushed unless every
// check passed.
func (g *Goship) ciAndPublish(ctx context.Context, registryHost, namespace, repository, username string, password *dagger.Secret, sig releaseSigning) (string, error) {
	if _, err := g.Ci(ctx, "", ""); err != nil {
		return "", fmt.Errorf("release stopped before publish: %w", err)
	}
	ref, err := g.Publish(ctx, registryHost, namespace, repository, username, password, "", "", sig.Key, sig.Password, sig.WorkflowRun)
	if err != nil {
		return "", fmt.Errorf("release stopped before deploy: %w", err)
	}
	return ref, nil
}

// releaseSigning is release's --sign-key, --sign-password and
// --workflow-run, passed on to publish.
type releaseSigning struct {
	Key, Password *dagger.Secret
	WorkflowRun   string
}
