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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/goship-dev/goship/pipeline/registry"
)

// imageCheckTimeout bounds asking the registry for the image.
const imageCheckTimeout = 20 * time.Second

// checkImage asks the registry whether s.Image exists before anything is
// applied, with s.CheckAuth or s.RegistryAuth for its host, else
// anonymously. Only a definite answer fails the deploy: not found, or
// given credentials refused. A registry that refuses anonymous reads (a
// private ACR repository, pulled by the nodes' credential helper) or that
// this machine cannot reach skips the check with a line in the log: the
// gate watches the cluster's own pull.
func checkImage(ctx context.Context, s Spec, log *progress) error {
	var opts []name.Option
	if s.PlainHTTP {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(s.Image, opts...)
	if err != nil {
		return fmt.Errorf("parsing image reference %q: %w", s.Image, err)
	}
	auth, given := authn.Anonymous, false
	for _, a := range []*RegistryAuth{s.CheckAuth, s.RegistryAuth} {
		if a != nil && a.Host == ref.RegistryStr() && !given {
			auth, given = &authn.Basic{Username: a.Username, Password: a.Password}, true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, imageCheckTimeout)
	defer cancel()
	_, err = remote.Head(ref, remote.WithContext(ctx), remote.WithAuth(auth))
	if err == nil {
		return nil
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("image %s is not in the registry (HEAD answered 404): push it first, or check the digest", s.Image)
		case http.StatusUnauthorized, http.StatusForbidden:
			if given {
				return fmt.Errorf("registry %s refuses the given credentials for %s (%d): check the username and password", ref.RegistryStr(), s.Image, terr.StatusCode)
			}
			log.printf("image check skipped: registry %s refuses anonymous reads and no registry credentials were given; the nodes pull with their own (ACK: aliyun-acr-credential-helper), and the gate watches that pull", ref.RegistryStr())
			return nil
		}
	}
	log.printf("image check skipped: registry %s did not answer (%v); the gate watches the cluster's own pull", ref.RegistryStr(), err)
	return nil
}

// pullSecrets are the objects applied before a release and never
// recorded with it (never rolled back to stale credentials): the pull
// secret made from s.RegistryAuth.
func pullSecrets(s Spec, log *progress) ([]*unstructured.Unstructured, error) {
	if s.RegistryAuth == nil {
		return nil, nil
	}
	if s.RegistryAuth.Username == registry.ACRTempUser {
		log.printf("WARNING: the pull secret %s is made from an ACR temporary token (%s): it stops working about an hour after it was issued, and a pod rescheduled after that cannot pull; use the node's credential helper (aliyun-acr-credential-helper) or a long-lived credential", pullSecretName(s.App), registry.ACRTempUser)
	}
	ps, err := pullSecret(s.App, *s.RegistryAuth)
	if err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{ps}, nil
}
