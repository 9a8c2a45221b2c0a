package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// leaseDuration is how long a deploy's lease lasts without renewal: a
// crashed deploy blocks the next one at most this long.
const leaseDuration = 60 * time.Second

// errLeaseTaken: another deploy holds the lease now.
var errLeaseTaken = errors.New("the lease is held")

func leaseName(app string) string { return "goship-deploy-" + app }

// lock takes app's Lease for who, waiting up to wait for another holder,
// and renews it until unlock. The returned context ends if the lease is
// lost, so a deploy never goes on without it.
func (c *Cluster) lock(ctx context.Context, app, who string, wait time.Duration) (context.Context, func(), error) {
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	holder := who + "/" + hex.EncodeToString(id)
	deadline := time.Now().Add(wait)
	for {
		other, err := c.tryLock(ctx, app, holder)
		if err != nil {
			return nil, nil, err
		}
		if other == "" {
			break
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("app %q is being deployed by %s (Lease %s/%s): wait for it, or retry after its lease expires %s after its last renewal", app, other, c.namespace, leaseName(app), leaseDuration)
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for the deploy lock of %q held by %s: %w", app, other, ctx.Err())
		case <-time.After(time.Second):
		}
	}
	lctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(leaseDuration / 6)
		defer tick.Stop()
		renewed := time.Now()
		for {
			select {
			case <-lctx.Done():
				return
			case <-tick.C:
			}
			err := c.renew(lctx, app, holder)
			if err == nil {
				renewed = time.Now()
				continue
			}
			// A passing API error is retried; a taken lease, or one about to
			// expire, stops the deploy.
			if lctx.Err() == nil && (errors.Is(err, errLeaseTaken) || time.Since(renewed) > leaseDuration/2) {
				cancel(fmt.Errorf("lost the deploy lock of %q: %w", app, err))
				return
			}
		}
	}()
	unlock := func() {
		cancel(nil)
		<-done
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
		defer rcancel()
		c.unlock(rctx, app, holder)
	}
	return lctx, unlock, nil
}

// tryLock takes the lease if it is free or expired; otherwise it returns
// the holder.
func (c *Cluster) tryLock(ctx context.Context, app, holder string) (string, error) {
	leases := c.kube.CoordinationV1().Leases(c.namespace)
	now := metav1.NewMicroTime(time.Now())
	secs := int32(leaseDuration.Seconds())
	l, err := leases.Get(ctx, leaseName(app), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: leaseName(app), Labels: map[string]string{labelApp: app, labelManagedBy: fieldManager}},
			Spec:       coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return "another deploy that just started", nil
		}
		if err != nil {
			return "", fmt.Errorf("creating the deploy lock Lease %s/%s: %w", c.namespace, leaseName(app), err)
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the deploy lock Lease %s/%s: %w", c.namespace, leaseName(app), err)
	}
	if h := l.Spec.HolderIdentity; h != nil && *h != "" && !leaseExpired(l, time.Now()) {
		return *h, nil
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.AcquireTime, l.Spec.RenewTime = &holder, &secs, &now, &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); apierrors.IsConflict(err) {
		return "another deploy that just took over the lease", nil
	} else if err != nil {
		return "", fmt.Errorf("taking the deploy lock Lease %s/%s: %w", c.namespace, leaseName(app), err)
	}
	return "", nil
}

// leaseExpired: the holder did not renew within the lease's duration.
func leaseExpired(l *coordv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}

func (c *Cluster) renew(ctx context.Context, app, holder string) error {
	leases := c.kube.CoordinationV1().Leases(c.namespace)
	l, err := leases.Get(ctx, leaseName(app), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != holder {
		return fmt.Errorf("%w by %s", errLeaseTaken, ptrOr(l.Spec.HolderIdentity, "nobody"))
	}
	now := metav1.NewMicroTime(time.Now())
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// unlock frees the lease if holder still holds it; a failure only delays
// the next deploy until the lease expires.
func (c *Cluster) unlock(ctx context.Context, app, holder string) {
	leases := c.kube.CoordinationV1().Leases(c.namespace)
	l, err := leases.Get(ctx, leaseName(app), metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != holder {
		return
	}
	_ = leases.Delete(ctx, leaseName(app), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &l.UID, ResourceVersion: &l.ResourceVersion}})
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// lockHeld: a deploy of app holds its lease now.
func (c *Cluster) lockHeld(ctx context.Context, app string) (bool, error) {
	l, err := c.kube.CoordinationV1().Leases(c.namespace).Get(ctx, leaseName(app), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the deploy lock Lease %s/%s: %w", c.namespace, leaseName(app), err)
	}
	return l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" && !leaseExpired(l, time.Now()), nil
}
