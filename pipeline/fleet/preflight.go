package fleet

import (
	"context"
	"fmt"
	"strings"

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
			m.rep.Error, m.err = err.Error(), err
			log.printf("%s: preflight: %v", m.name, err)
			return
		}
		log.printf("%s: ready and locked (current release %s)", m.name, orNone(m.p.Current()))
	})
	var failed []string
	for _, m := range members {
		if m.rep.Error != "" {
			failed = append(failed, m.name+": "+m.rep.Error)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	for _, m := range members {
		m.close()
	}
	if len(members) == 1 {
		return members[0].err // one host: its own error, as it is
	}
	return &PreflightError{Failed: failed, Hosts: len(members)}
}

// PreflightError stops a run before anything changed on any host.
type PreflightError struct {
	Failed []string // "host: reason"
	Hosts  int
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("fleet preflight: %d of %d hosts not ready; nothing was changed on any host:\n  %s",
		len(e.Failed), e.Hosts, strings.Join(e.Failed, "\n  "))
}
