package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goship-dev/goship/pipeline/host"
)

// HTTPS at the proxy: an app brings a certificate and its key (files
// the user already has, e.g. from a company CA or certbot); goship
// uploads them beside the port's config, the key 0600 and only ever on
// stdin, and the port's Caddy serves them. Its Caddy also publishes the
// plain-HTTP port (80 by default) and redirects every request there to
// HTTPS. Every app on an HTTPS port serves HTTPS, each with its own
// certificate, chosen by SNI for host routes. Caddy obtaining
// certificates itself (ACME) is not offered: it needs the public
// internet, which goship's tests cannot reach.

// TLS is a certificate and its private key, checked by ParseTLS, and the
// plain-HTTP port that redirects to HTTPS (0: none).
type TLS struct {
	certPEM, keyPEM []byte
	leaf            *x509.Certificate
	redirectFrom    int
}

// DefaultRedirectFrom is the plain-HTTP port that redirects to HTTPS
// when a certificate is given and no other port is named.
const DefaultRedirectFrom = 80

// ParseTLS checks a certificate (PEM, leaf first, then its chain) and its
// private key (PEM, unencrypted) before anything connects: both given,
// the key matching the certificate, the certificate valid now.
// redirectFrom is the plain-HTTP port that redirects to HTTPS, 0 for
// none.
func ParseTLS(certPEM, keyPEM []byte, redirectFrom int, now time.Time) (*TLS, error) {
	switch {
	case len(bytes.TrimSpace(certPEM)) == 0 && len(bytes.TrimSpace(keyPEM)) == 0:
		return nil, errors.New("no certificate: give --tls-cert and --tls-key")
	case len(bytes.TrimSpace(keyPEM)) == 0:
		return nil, errors.New("--tls-cert needs --tls-key: the certificate's private key (PEM)")
	case len(bytes.TrimSpace(certPEM)) == 0:
		return nil, errors.New("--tls-key needs --tls-cert: the certificate (PEM), then its chain")
	case redirectFrom < 0 || redirectFrom > 65535:
		return nil, fmt.Errorf("--tls-redirect-from %d: want a port (1-65535), or 0 for no redirect", redirectFrom)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The standard library's messages name the problem ("private key
		// does not match public key"); never the key itself.
		return nil, fmt.Errorf("--tls-cert and --tls-key: %w", err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("--tls-cert for %s expired on %s: renew it", certNames(leaf), leaf.NotAfter.UTC().Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("--tls-cert for %s is not valid before %s: check the server's clock or the certificate", certNames(leaf), leaf.NotBefore.UTC().Format(time.RFC3339))
	case leaf.IsCA:
		return nil, fmt.Errorf("--tls-cert is a CA certificate (%s): give the server's certificate, then its chain", leaf.Subject)
	}
	return &TLS{certPEM: certPEM, keyPEM: keyPEM, leaf: leaf, redirectFrom: redirectFrom}, nil
}

// Names are the host names and addresses the certificate is for.
func (t *TLS) Names() []string {
	names := append([]string(nil), t.leaf.DNSNames...)
	for _, ip := range t.leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// NotAfter is when the certificate expires.
func (t *TLS) NotAfter() time.Time { return t.leaf.NotAfter }

func certNames(c *x509.Certificate) string {
	t := TLS{leaf: c}
	if n := t.Names(); len(n) > 0 {
		return strings.Join(n, ", ")
	}
	return c.Subject.CommonName
}

// RouteTLS is how an app's Route serves HTTPS: its files under
// ports/<port>/tls, and what status shows and the start pins.
type RouteTLS struct {
	Cert         string    `json:"cert"` // file name in the port's tls dir
	Key          string    `json:"key"`
	SHA256       string    `json:"sha256"` // of the leaf certificate (DER)
	Names        []string  `json:"names,omitempty"`
	NotAfter     time.Time `json:"not_after"`
	RedirectFrom int       `json:"redirect_from,omitempty"`
}

// route is how app's Route refers to t. The file names carry a hash of
// both files, so a new certificate changes the Caddy config, and a
// reload, not a restart, loads it.
func (t *TLS) route(app string) *RouteTLS {
	files := sha256.Sum256(append(append([]byte(nil), t.certPEM...), t.keyPEM...))
	leaf := sha256.Sum256(t.leaf.Raw)
	base := app + "-" + hex.EncodeToString(files[:6])
	return &RouteTLS{Cert: base + ".crt", Key: base + ".key", SHA256: hex.EncodeToString(leaf[:]),
		Names: t.Names(), NotAfter: t.leaf.NotAfter, RedirectFrom: t.redirectFrom}
}

// withTLS is r with the certificate p installs, or else the one r's app
// has now.
func (p *Proxy) withTLS(routes []Route, r Route) Route {
	switch old, had := findRoute(routes, r.App); {
	case p.tls != nil:
		r.TLS = p.tls.route(r.App)
	case had && old.TLS != nil:
		cp := *old.TLS
		r.TLS = &cp
	}
	return r
}

// tlsConflict is why r's HTTPS settings cannot join routes: a port serves
// HTTPS for all its apps or for none, and a port that redirects to HTTPS
// serves nothing else.
func tlsConflict(routes []Route, r Route) error {
	if r.TLS != nil && r.TLS.RedirectFrom == r.Port {
		return fmt.Errorf("--tls-redirect-from %d is the HTTPS port itself: give the plain-HTTP port (80), or 0", r.Port)
	}
	for _, o := range routes {
		if o.App == r.App {
			continue
		}
		if o.Port == r.Port {
			switch {
			case o.TLS != nil && r.TLS == nil:
				return fmt.Errorf("proxy port %d serves HTTPS for app %s: give %s a certificate too (--tls-cert, --tls-key) or another port", r.Port, o.App, r.App)
			case o.TLS == nil && r.TLS != nil:
				return fmt.Errorf("proxy port %d serves plain HTTP for app %s: give %s another port for HTTPS (443)", r.Port, o.App, r.App)
			case o.TLS != nil && o.TLS.RedirectFrom != r.TLS.RedirectFrom:
				return fmt.Errorf("proxy port %d redirects HTTP from %s for app %s; %s asks for %s: use the same --tls-redirect-from", r.Port, redirectName(o.TLS.RedirectFrom), o.App, r.App, redirectName(r.TLS.RedirectFrom))
			}
			continue
		}
		if o.TLS != nil && o.TLS.RedirectFrom != 0 && o.TLS.RedirectFrom == r.Port {
			return fmt.Errorf("proxy port %d redirects to HTTPS on port %d for app %s: publish %s on another port", r.Port, o.Port, o.App, r.App)
		}
		if r.TLS != nil && r.TLS.RedirectFrom != 0 {
			if o.Port == r.TLS.RedirectFrom {
				return fmt.Errorf("port %d, which would redirect to HTTPS, serves app %s: give --tls-redirect-from another port, or 0 for none", o.Port, o.App)
			}
			if o.TLS != nil && o.TLS.RedirectFrom == r.TLS.RedirectFrom {
				return fmt.Errorf("port %d already redirects to HTTPS on port %d for app %s: give --tls-redirect-from another port, or 0 for none", o.TLS.RedirectFrom, o.Port, o.App)
			}
		}
	}
	return nil
}

func redirectName(port int) string {
	if port == 0 {
		return "no port"
	}
	return "port " + strconv.Itoa(port)
}

// portTLS is the HTTPS settings of port: those of its apps (tlsConflict
// keeps them the same), or nil for plain HTTP.
func portTLS(port int, routes []Route) *RouteTLS {
	for _, r := range routes {
		if r.Port == port && r.TLS != nil {
			return r.TLS
		}
	}
	return nil
}

// tlsShape names what a port's container publishes beyond its own port,
// as its label keeps it: "" for plain HTTP, "https" or "https+80". A
// container of another shape is created again.
func tlsShape(t *RouteTLS) string {
	switch {
	case t == nil:
		return ""
	case t.RedirectFrom == 0:
		return "https"
	}
	return "https+" + strconv.Itoa(t.RedirectFrom)
}

func (p *Proxy) tlsDir(port int) string {
	return fmt.Sprintf("%s/ports/%d/tls", p.rec.Root, port)
}

// installTLS puts r's certificate files in its port's tls dir: uploaded
// when p installs a certificate (the key on stdin, 0600 from its first
// byte), copied when the app keeps its certificate on a new port.
func (p *Proxy) installTLS(ctx context.Context, r Route, old Route, had bool) error {
	if r.TLS == nil {
		return nil
	}
	dir := p.tlsDir(r.Port)
	if p.tls == nil {
		if !had || old.Port == r.Port || old.TLS == nil {
			return nil
		}
		script := fmt.Sprintf("mkdir -p -m 700 %[1]s && cp -p %[2]s/%[3]s %[2]s/%[4]s %[1]s/", host.Q(dir), host.Q(p.tlsDir(old.Port)), host.Q(old.TLS.Cert), host.Q(old.TLS.Key))
		if _, err := p.s.Run(ctx, "copy certificate", script, nil); err != nil {
			return fmt.Errorf("copy %s's certificate to proxy port %d: %w", r.App, r.Port, err)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{r.TLS.Cert, p.tls.certPEM}, {r.TLS.Key, p.tls.keyPEM}} {
		path := dir + "/" + f.name
		// Only the tls dir and its files are private: the port's dir is
		// read by plain-HTTP Caddies too.
		script := fmt.Sprintf(`mkdir -p "$(dirname %[1]s)" && umask 077 && mkdir -p %[1]s && cat > %[2]s.tmp && chmod 600 %[2]s.tmp && mv -f %[2]s.tmp %[2]s`, host.Q(dir), host.Q(path))
		if _, err := p.s.Run(ctx, "upload "+f.name, script, bytes.NewReader(f.data)); err != nil {
			return fmt.Errorf("upload %s's certificate to %s: %w", r.App, dir, err)
		}
	}
	return nil
}

// pruneTLS removes app's certificate files on port other than keep's
// (nil: all of them).
func (p *Proxy) pruneTLS(ctx context.Context, app string, port int, keep *RouteTLS) {
	var cert, key string
	if keep != nil {
		cert, key = keep.Cert, keep.Key
	}
	script := fmt.Sprintf(`cd %s 2>/dev/null || exit 0
for f in %s-*.crt %s-*.key; do [ -f "$f" ] && [ "$f" != %s ] && [ "$f" != %s ] && rm -f "$f"; done; true`,
		host.Q(p.tlsDir(port)), host.Q(app), host.Q(app), host.Q(cert), host.Q(key))
	_, _ = p.s.Run(ctx, "remove old certificates", script, nil)
}

// fileOwner is "uid:gid" of the deploy user, who owns the key: an HTTPS
// port's Caddy runs as it to read the 0600 key.
func (p *Proxy) fileOwner(ctx context.Context) (string, error) {
	out, err := p.s.Run(ctx, "deploy user id", `echo "$(id -u):$(id -g)"`, nil)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// tlsClient is the HTTPS config that checks a port's Caddy serves r's
// certificate: the one uploaded, pinned by its fingerprint (the chain may
// end at a CA this machine does not trust; trust is the client's matter).
func tlsClientConfig(r Route) *tls.Config {
	want := r.TLS.SHA256
	return &tls.Config{
		ServerName: r.Host,
		MinVersion: tls.VersionTLS12,
		// Verified below against the pinned fingerprint instead.
		InsecureSkipVerify: true, //nolint:gosec // pinned by VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if hex.EncodeToString(got[:]) != want {
				return fmt.Errorf("the proxy serves another certificate (%s) than %s's", certNames(cs.PeerCertificates[0]), r.App)
			}
			return nil
		},
	}
}

// tlsCaddy is the HTTPS part of a port's Caddy config for its routes
// (mine, all HTTPS): the certificates to load, one connection policy per
// host name and one for the catch-all app, and the redirect server.
func tlsCaddy(port int, mine []Route) (policies []any, tlsApp map[string]any, redirect map[string]any) {
	type obj = map[string]any
	var files []any
	var catchAll any
	for _, r := range mine {
		tag := "goship-" + r.App
		files = append(files, obj{"certificate": proxyConfigDir + "/tls/" + r.TLS.Cert, "key": proxyConfigDir + "/tls/" + r.TLS.Key, "tags": []any{tag}})
		policy := obj{"certificate_selection": obj{"any_tag": []any{tag}}}
		if r.Host == "" {
			catchAll = policy // last: it takes every SNI the host routes do not
			continue
		}
		policy["match"] = obj{"sni": []any{r.Host}}
		policies = append(policies, policy)
	}
	if catchAll != nil {
		policies = append(policies, catchAll)
	}
	// The certificates are the user's files: nothing for Caddy to renew or
	// clean in its storage.
	tlsApp = obj{"certificates": obj{"load_files": files}, "disable_storage_clean": true}
	t := portTLS(port, mine)
	if t.RedirectFrom == 0 {
		return policies, tlsApp, nil
	}
	location := "https://{http.request.host}{http.request.uri}"
	if port != 443 {
		location = "https://{http.request.host}:" + strconv.Itoa(port) + "{http.request.uri}"
	}
	redirect = obj{
		"listen":          []any{":" + strconv.Itoa(t.RedirectFrom)},
		"automatic_https": obj{"disable": true},
		"routes": []any{obj{"handle": []any{obj{
			"handler": "static_response", "status_code": 308,
			"headers": obj{"Location": []any{location}, "Connection": []any{"close"}},
		}}}},
	}
	return policies, tlsApp, redirect
}

// certExpiry says how long a certificate has left, for status.
func certExpiry(t *RouteTLS, now time.Time) string {
	left := t.NotAfter.Sub(now)
	switch {
	case left <= 0:
		return "EXPIRED on " + t.NotAfter.UTC().Format(time.DateOnly)
	case left < 14*24*time.Hour:
		return fmt.Sprintf("EXPIRES SOON: %s (in %d days)", t.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
	}
	return "expires " + t.NotAfter.UTC().Format(time.DateOnly)
}
