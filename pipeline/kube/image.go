package kube

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// imageCheckTimeout bounds asking the registry for the image.
const imageCheckTimeout = 20 * time.Second

// checkImage asks the registry whether s.Image exists, with s's
// credentials, before anything is applied. Only a definite answer fails
// the deploy (not found, credentials refused); a registry this machine
// cannot reach is left to the cluster, whose pull the gate watches.
func checkImage(ctx context.Context, s Spec) error {
	var opts []name.Option
	if s.PlainHTTP {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(s.Image, opts...)
	if err != nil {
		return fmt.Errorf("parsing image reference %q: %w", s.Image, err)
	}
	auth := authn.Anonymous
	if a := s.RegistryAuth; a != nil && a.Host == ref.RegistryStr() {
		auth = &authn.Basic{Username: a.Username, Password: a.Password}
	}
	ctx, cancel := context.WithTimeout(ctx, imageCheckTimeout)
	defer cancel()
	_, err = remote.Head(ref, remote.WithContext(ctx), remote.WithAuth(auth))
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("image %s is not in the registry (HEAD answered 404): push it first, or check the digest", s.Image)
		case http.StatusUnauthorized, http.StatusForbidden:
			if s.RegistryAuth == nil {
				return fmt.Errorf("registry %s refuses anonymous access to %s (%d): pass registry credentials so the cluster can pull it", ref.RegistryStr(), s.Image, terr.StatusCode)
			}
			return fmt.Errorf("registry %s refuses the given credentials for %s (%d): check the username and password", ref.RegistryStr(), s.Image, terr.StatusCode)
		}
	}
	return nil
}
