package fleet

import (
	"fmt"
	"strings"
)

// HostError is one host's failure in a run. errors.Is and errors.As
// reach Err.
type HostError struct {
	Host string // host:port
	Err  error
}

func (e *HostError) Error() string { return e.Host + ": " + e.Err.Error() }

func (e *HostError) Unwrap() error { return e.Err }

// RunError is a fleet run that stopped: the hosts whose step failed, and
// where every other host ended. errors.Is and errors.As reach each
// failed host's error.
type RunError struct {
	Failed []*HostError
	// RolledBack went back to their previous release; Untouched never
	// moved; Stuck are not back on their previous release (see the
	// report).
	RolledBack, Untouched, Stuck []string
}

func (e *RunError) Error() string {
	var failed []string
	for _, h := range e.Failed {
		failed = append(failed, h.Host+": "+firstLine(h.Err.Error()))
	}
	msg := "fleet deploy stopped: " + strings.Join(failed, "; ")
	if len(e.RolledBack) > 0 {
		msg += "; rolled back to their previous releases: " + strings.Join(e.RolledBack, ", ")
	}
	if len(e.Untouched) > 0 {
		msg += "; untouched: " + strings.Join(e.Untouched, ", ")
	}
	if len(e.Stuck) > 0 {
		msg += fmt.Sprintf("; NOT BACK ON THEIR PREVIOUS RELEASE: %s (see the report)", strings.Join(e.Stuck, ", "))
	}
	return msg
}

func (e *RunError) Unwrap() []error { return hostErrs(e.Failed) }

// PreflightError stops a run before anything changed on any host.
type PreflightError struct {
	Failed []*HostError
	Hosts  int
}

func (e *PreflightError) Error() string {
	lines := make([]string, len(e.Failed))
	for i, h := range e.Failed {
		lines[i] = h.Error()
	}
	return fmt.Sprintf("fleet preflight: %d of %d hosts not ready; nothing was changed on any host:\n  %s",
		len(e.Failed), e.Hosts, strings.Join(lines, "\n  "))
}

func (e *PreflightError) Unwrap() []error { return hostErrs(e.Failed) }

func hostErrs(hs []*HostError) []error {
	errs := make([]error, len(hs))
	for i, h := range hs {
		errs[i] = h
	}
	return errs
}

// steps is one host's failure and what the run did about it, in order,
// as its report line says; errors.Is and errors.As reach each.
type steps []error

func (s steps) Error() string {
	parts := make([]string, len(s))
	for i, err := range s {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (s steps) Unwrap() []error { return s }

// cutOffError is a deploy whose connection was cut: its own rollback
// could not run, and the run reconnected to set things right.
type cutOffError struct {
	Err  error  // the deploy's own error
	Did  string // what the run did then
	Then error  // why that did not work, when it did not
}

func (e *cutOffError) Error() string {
	s := fmt.Sprintf("connection lost mid-deploy (%s); %s", firstLine(e.Err.Error()), e.Did)
	if e.Then != nil {
		s += " (" + e.Then.Error() + ")"
	}
	return s
}

func (e *cutOffError) Unwrap() []error {
	if e.Then == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Then}
}
