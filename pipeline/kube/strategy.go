package kube

import (
	"context"
	"fmt"
	"time"

	"github.com/goship-dev/goship/pipeline/outcome"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Strategy names how a release goes live on the cluster. BlueGreen has
// the same name, and means the same, as on SSH hosts.
type Strategy string

// The strategies.
const (
	// Rolling updates the app's one Deployment in place, one pod at a time
	// (maxSurge 1, maxUnavailable 0, minReadySeconds = settle): a new pod
	// takes traffic as soon as it is Ready, and the gate decides after
	// whether to roll back. The default, and goship's behaviour before
	// strategies.
	Rolling Strategy = "rolling"
	// BlueGreen runs the new release as its own Deployment (<app>-blue or
	// <app>-green) behind the preview Service <app>-preview. The live
	// Service's selector switches to it, in one write, only after it
	// passed the gate and the settle window; the old color keeps running
	// through the drain, then is scaled to zero and kept.
	BlueGreen Strategy = "blue-green"
)

// strategy brings a release live and gated, and restores what served
// before when it fails. Deploy and Rollback choose one, once.
type strategy interface {
	// plan is what bringing r live would apply now, and what the
	// inventory must keep beside it.
	plan(ctx context.Context, c *Cluster, r *rollout) (apply, keep []*unstructured.Unstructured, err error)
	// goLive brings r live. On failure it leaves the app served by what
	// served before when it can, and says so in the outcome: Unchanged
	// (traffic never moved), RolledBack, or Failed.
	goLive(ctx context.Context, c *Cluster, r *rollout) (outcome.Outcome, error)
}

func strategyFor(s Strategy) (strategy, error) {
	switch s {
	case Rolling, "":
		return rolling{}, nil
	case BlueGreen:
		return blueGreen{}, nil
	case "recreate":
		return nil, fmt.Errorf("strategy %q is the SSH hosts' (stop the old release, then start the new): on a cluster use %q (the default: pods replaced one at a time, no downtime) or %q", s, Rolling, BlueGreen)
	}
	return nil, fmt.Errorf("strategy %q: want %q or %q", s, Rolling, BlueGreen)
}

// cleanupTimeout bounds what a cancelled run still does to leave the app
// in a known state (re-apply, scale, record, release the Lease).
const cleanupTimeout = 20 * time.Second

// rollout is one release going live.
type rollout struct {
	app string
	rel *Release
	// prev is the release to restore when rel fails (nil: none).
	prev                   *Release
	timeout, settle, drain time.Duration
	// pre are applied before the release's objects and not recorded (the
	// pull secret).
	pre     []*unstructured.Unstructured
	log     *progress
	start   time.Time
	changes ChangeSet
	// color is the blue-green color rel went live in.
	color string
	// inv is the app's inventory: goLive adds what it is about to apply
	// (track) and sets keep, what the inventory holds once rel is live.
	inv  *inventory
	keep []*unstructured.Unstructured
	// probe: plan only looks (the unchanged check); it writes nothing.
	probe bool
}

// track adds objs to the inventory and stores it before they are
// applied, so a run that dies half-way leaves nothing untracked.
func (r *rollout) track(ctx context.Context, c *Cluster, objs []*unstructured.Unstructured) error {
	r.inv.add(objs, nil)
	return c.writeInventory(ctx, r.app, r.inv)
}

// cleanupContext outlives a cancelled ctx, briefly.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
