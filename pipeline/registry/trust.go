package registry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Trust says how registry connections are secured beyond the system's
// defaults: extra CA certificates (a private registry's, e.g. Harbor or ACR
// Enterprise Edition behind a company CA), and registries that are reached
// over plain HTTP by explicit opt-in.
type Trust struct {
	// CAPEM holds PEM certificates trusted in addition to the system's.
	CAPEM []byte
	// PlainHTTP names registries (host[:port]) reached without TLS.
	PlainHTTP []string
}

// Validate rejects a CA bundle with no certificate and plain HTTP for a
// registry that must never be reached without TLS (ACR).
func (t Trust) Validate() error {
	if len(t.CAPEM) > 0 {
		if _, err := t.pool(); err != nil {
			return err
		}
	}
	for _, h := range t.PlainHTTP {
		host, err := ParseHost(h)
		if err != nil {
			return fmt.Errorf("plain-http registry: %w", err)
		}
		if host.IsACR() {
			return fmt.Errorf("plain-http registry %s: ACR serves only HTTPS, and credentials must never cross the network in the clear", h)
		}
	}
	return nil
}

func (t Trust) pool() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(t.CAPEM) {
		return nil, fmt.Errorf("registry CA: no PEM certificate found (want one or more -----BEGIN CERTIFICATE----- blocks)")
	}
	return pool, nil
}

// WithTrust applies t to a call: a transport that trusts its CAs, and
// plain HTTP for the registries it names. Validate t first; an invalid
// CA here is ignored rather than half-applied.
func WithTrust(t Trust) Option {
	return func(o *options) {
		o.plainHTTP = append(o.plainHTTP, t.PlainHTTP...)
		if len(t.CAPEM) == 0 {
			return
		}
		pool, err := t.pool()
		if err != nil {
			return
		}
		base, ok := remote.DefaultTransport.(*http.Transport)
		if !ok {
			return
		}
		tr := base.Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		o.transport = tr
	}
}

// nameOptions are the parse options for a reference on registry host:
// strict, and insecure (plain HTTP) only where the caller opted in.
func (o options) nameOptions(host string) []name.Option {
	opts := []name.Option{name.StrictValidation}
	if slices.Contains(o.plainHTTP, host) {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// parseRef parses a reference with the options its registry calls for.
func (o options) parseRef(s string) (name.Reference, error) {
	r, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return nil, err
	}
	return name.ParseReference(s, o.nameOptions(r.Context().RegistryStr())...)
}

// parseRepo parses a repository with the options its registry calls for.
func (o options) parseRepo(s string) (name.Repository, error) {
	r, err := name.NewRepository(s, name.StrictValidation)
	if err != nil {
		return name.Repository{}, err
	}
	return name.NewRepository(s, o.nameOptions(r.RegistryStr())...)
}

// schemes are the schemes to try for a registry, in order: HTTPS, then
// plain HTTP where go-containerregistry would fall back to it (loopback,
// private addresses) or the caller opted in.
func (o options) schemes(reg name.Registry) []string {
	if slices.Contains(o.plainHTTP, reg.RegistryStr()) {
		return []string{"http"}
	}
	if reg.Scheme() == "http" {
		return []string{"https", "http"}
	}
	return []string{"https"}
}
