package registry

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Session is a set of Options resolved once, for packages that talk to a
// registry through go-containerregistry themselves (pipeline/sign writes
// cosign's signature tags) with the same credentials, CAs and plain-HTTP
// opt-ins as the verbs of this package.
type Session struct{ o options }

// NewSession resolves opts. Validate a Trust before passing it.
func NewSession(opts ...Option) Session { return Session{o: collect(opts)} }

// Remote is the go-containerregistry options for one call.
func (s Session) Remote(ctx context.Context) []remote.Option { return s.o.remote(ctx) }

// ParseReference parses ref strictly, plain HTTP only where opted in.
func (s Session) ParseReference(ref string) (name.Reference, error) { return s.o.parseRef(ref) }

// Redact returns err with the registry password replaced, so it can be
// wrapped into an error a user sees.
func (s Session) Redact(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(s.o.scrub(err.Error()))
}
