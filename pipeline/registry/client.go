package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ACRTempUser is the username that goes with a temporary ACR token from the
// GetAuthorizationToken API.
const ACRTempUser = "cr_temp_user"

// Credentials for a registry. Password is never formatted into errors.
type Credentials struct {
	Username string
	Password string
}

func (c Credentials) authenticator() authn.Authenticator {
	if c.Username == "" && c.Password == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: c.Username, Password: c.Password}
}

// ErrCredentialsRefused is wrapped by every error that means "wrong
// username or password".
var ErrCredentialsRefused = errors.New("registry refused credentials")

type options struct {
	creds       Credentials
	sourceCreds Credentials
	transport   http.RoundTripper
	plainHTTP   []string
}

// Option configures a registry call.
type Option func(*options)

// WithCredentials authenticates the call.
func WithCredentials(c Credentials) Option { return func(o *options) { o.creds = c } }

// WithSourceCredentials authenticates the source of a Copy (WithCredentials
// is for the destination).
func WithSourceCredentials(c Credentials) Option { return func(o *options) { o.sourceCreds = c } }

// WithTransport replaces the HTTP transport (proxies, custom CAs).
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

func collect(opts []Option) options {
	o := options{transport: remote.DefaultTransport}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func (o options) remote(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(o.creds.authenticator()), remote.WithTransport(o.transport)}
}

// CheckCredentials proves that the registry accepts the credentials for
// pushing to repo, with one token round-trip and no image data. It is meant
// to run before any build work so a typo fails in seconds.
func CheckCredentials(ctx context.Context, repo Repository, opts ...Option) error {
	o := collect(opts)
	if o.creds.Username == "" || o.creds.Password == "" {
		return fmt.Errorf("registry %s: username and password are both required", repo.Host.Name)
	}
	ref, err := o.parseRepo(repo.String())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	scopes := []string{ref.Scope(transport.PushScope)}
	rt, err := transport.NewWithContext(ctx, ref.Registry, o.creds.authenticator(), o.transport, scopes)
	if err != nil {
		return o.classify(repo, err)
	}
	// Basic-auth registries accept any credentials at the ping; only a real
	// request tells. /v2/ is the cheapest authenticated one.
	var lastErr error
	for _, scheme := range o.schemes(ref.Registry) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+ref.RegistryStr()+"/v2/", nil)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		_ = resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return o.refused(repo)
		case resp.StatusCode >= 300:
			return fmt.Errorf("registry %s: credential check answered %s", repo.Host.Name, resp.Status)
		}
		return nil
	}
	return o.classify(repo, lastErr)
}

func (o options) refused(repo Repository) error {
	hint := "check the registry password (for ACR it is the registry password set in the console, not the Aliyun login password)"
	if o.creds.Username == ACRTempUser {
		hint = "temporary ACR tokens expire after one hour: fetch a new one"
	}
	return fmt.Errorf("%w for %s@%s: %s", ErrCredentialsRefused, o.creds.Username, repo.Host.Name, hint)
}

// classify turns a transport error into a message without secrets.
func (o options) classify(repo Repository, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden) {
		return o.refused(repo)
	}
	return fmt.Errorf("registry %s unreachable: %s", repo.Host.Name, o.scrub(err.Error()))
}

// scrub removes the password from text that may echo request details.
func (o options) scrub(s string) string {
	if o.creds.Password == "" {
		return s
	}
	return strings.ReplaceAll(s, o.creds.Password, "***")
}

// Digest resolves ref (tag or digest) to its manifest digest without
// downloading the image.
func Digest(ctx context.Context, ref string, opts ...Option) (v1.Hash, error) {
	o := collect(opts)
	r, err := o.parseRef(ref)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest %s: %w", ref, err)
	}
	desc, err := remote.Head(r, o.remote(ctx)...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("digest %s: %s", ref, o.scrub(err.Error()))
	}
	return desc.Digest, nil
}

// ListTags lists the tags of repo, e.g. to offer rollback targets.
func ListTags(ctx context.Context, repo string, opts ...Option) ([]string, error) {
	o := collect(opts)
	r, err := o.parseRepo(repo)
	if err != nil {
		return nil, fmt.Errorf("list tags %s: %w", repo, err)
	}
	tags, err := remote.List(r, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("list tags %s: %s", repo, o.scrub(err.Error()))
	}
	return tags, nil
}

// Tag points tag at the manifest of src (same repository), without pulling
// or pushing layers.
func Tag(ctx context.Context, src, tag string, opts ...Option) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	o := collect(opts)
	r, err := o.parseRef(src)
	if err != nil {
		return fmt.Errorf("tag %s: %w", src, err)
	}
	desc, err := remote.Get(r, o.remote(ctx)...)
	if err != nil {
		return fmt.Errorf("tag %s: %s", src, o.scrub(err.Error()))
	}
	dst := r.Context().Tag(tag)
	if err := remote.Tag(dst, desc, o.remote(ctx)...); err != nil {
		return fmt.Errorf("tag %s as %s: %s", src, dst, o.scrub(err.Error()))
	}
	return nil
}

// Copy copies src to dst (any registries, every platform) keeping the
// manifest digest, so digest pins stay valid on a mirror. WithCredentials
// authenticates the destination, WithSourceCredentials the source (default
// anonymous). src may use Docker Hub shorthand (golang:1.26@sha256:…).
func Copy(ctx context.Context, src, dst string, opts ...Option) error {
	o := collect(opts)
	s, err := name.ParseReference(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	d, err := o.parseRef(dst)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, err)
	}
	srcOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(o.sourceCreds.authenticator()), remote.WithTransport(o.transport)}
	desc, err := remote.Get(s, srcOpts...)
	if err != nil {
		return fmt.Errorf("copy %s: %s", src, o.scrub(err.Error()))
	}
	if want, ok := s.(name.Digest); ok && desc.Digest.String() != want.DigestStr() {
		return fmt.Errorf("copy %s: the source served %s", src, desc.Digest)
	}
	if err := remote.Push(d, desc, o.remote(ctx)...); err != nil {
		return fmt.Errorf("copy %s to %s: %s", src, dst, o.scrub(err.Error()))
	}
	return nil
}

// PlatformDigests maps each platform of ref (os/arch[/variant]) to its
// image manifest digest: the manifests of an index, or ref's own digest
// for a single image (under its config's platform).
func PlatformDigests(ctx context.Context, ref string, opts ...Option) (map[string]string, error) {
	o := collect(opts)
	r, err := o.parseRef(ref)
	if err != nil {
		return nil, fmt.Errorf("platforms of %s: %w", ref, err)
	}
	desc, err := remote.Get(r, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("platforms of %s: %s", ref, o.scrub(err.Error()))
	}
	out := map[string]string{}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("platforms of %s: %w", ref, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("platforms of %s: %w", ref, err)
		}
		out[platformName(cfg.OS, cfg.Architecture, cfg.Variant)] = desc.Digest.String()
		return out, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("platforms of %s: %w", ref, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("platforms of %s: %w", ref, err)
	}
	for _, d := range m.Manifests {
		if d.Platform == nil || d.Platform.OS == "unknown" {
			continue // attestation manifests
		}
		out[platformName(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant)] = d.Digest.String()
	}
	return out, nil
}

func platformName(os, arch, variant string) string {
	if variant == "" {
		return os + "/" + arch
	}
	return os + "/" + arch + "/" + variant
}
