package fleet

import (
	"context"

	"github.com/goship-dev/goship/pipeline/host"
)

// prepareAll connects to, preflights and locks every host at once. If any
// host fails, every lock taken is let go and the error names each host
// that failed and why.
func prepareAll(ctx context.Context, members []*member, log *logger) error {
	forEach(members, maxDials, func(m *member) {
		if m.spec.LockWait > 0 && m.spec.LockWaiting == nil {
			m.spec.LockWaiting = func(e *host.LockedError) {
				log.printf("%s: %s", m.name, e.Waiting(m.spec.LockWait))
			}
		}
		if err := m.prepare(ctx); err != nil {
			m.fail(err)
			log.printf("%s: preflight: %v", m.name, err)
			return
		}
		log.printf("%s: ready and locked (current release %s)", m.name, orNone(m.p.Current()))
	})
	var failed []*HostError
	for _, m := range members {
		if len(m.errs) > 0 {
			failed = append(failed, &HostError{Host: m.name, Err: m.failure()})
		}
	}
	if len(failed) == 0 {
		return nil
	}
	for _, m := range members {
		m.close()
	}
	if len(members) == 1 {
		return members[0].failure() // one host: its own error, as it is
	}
	return &PreflightError{Failed: failed, Hosts: len(members)}
}
