// Package policy reads a repository's image policy (.goship/policy.yaml):
// which keys are trusted, which attestations every image must carry, how
// old its gate may be, and which third-party images are allowed by
// digest. It checks a list of image references against it, and exports it
// as a sigstore policy-controller ClusterImagePolicy so a cluster's
// admission enforces the same rules.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/goship-dev/goship/pipeline/project"
	"github.com/goship-dev/goship/pipeline/sign"
)

// DefaultMaxAge is the gate's maximum age when the policy names none.
const DefaultMaxAge = 30 * 24 * time.Hour

// PredicateTypes maps the short names a policy uses (cosign's --type
// names) to the predicate types they stand for.
var PredicateTypes = map[string]string{
	"slsaprovenance1": sign.ProvenancePredicateType,
	"cyclonedx":       sign.CycloneDXPredicateType,
	"vuln":            sign.VulnPredicateType,
	"spdxjson":        "https://spdx.dev/Document",
	"openvex":         "https://openvex.dev/ns",
}

// Policy is a parsed and validated policy file.
type Policy struct {
	// Keys are the trusted public keys; a signature by any one is
	// accepted.
	Keys []Key
	// Require are the predicate types every signed image must carry, by
	// a trusted key.
	Require []string
	// MaxAge is the oldest a signed image's newest provenance may be.
	MaxAge time.Duration
	// Images are globs of the images the keys sign (policy-controller's
	// glob syntax), for the ClusterImagePolicy export.
	Images []string
	// Allow are third-party images allowed without a signature.
	Allow []Allow
}

// Key is one trusted key.
type Key struct {
	// Name names the key in messages and in the exported policy.
	Name string
	Key  *sign.PublicKey
	// PEM is the key as given.
	PEM []byte
}

// Allow is a third-party image allowed by digest.
type Allow struct {
	// Image is repo@sha256:… as the policy gives it.
	Image  string
	Reason string
	ref    name.Digest
}

// Error is a policy file that cannot be used, with where and why.
type Error struct {
	// File is the policy file's path in the repository.
	File string
	// Line is the line of the offending node (0 when the YAML itself does
	// not parse; its message then names the line).
	Line int
	// Field is the path of the offending field, e.g. keys[1].pem.
	Field   string
	Problem string
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		where += ": " + e.Field
	}
	return "policy " + where + ": " + e.Problem
}

// Load reads and validates project.DefaultPolicyFile in repo; key paths are read from
// repo too.
func Load(repo fs.FS) (*Policy, error) {
	data, err := fs.ReadFile(repo, project.DefaultPolicyFile)
	if err != nil {
		return nil, &Error{File: project.DefaultPolicyFile, Problem: fmt.Sprintf("cannot read it: %v (write one, see docs/signing.md)", err)}
	}
	return Parse(project.DefaultPolicyFile, data, repo)
}

// Parse reads and validates a policy file's content. file names it in
// errors; repo is the repository its key paths are relative to. It
// touches nothing else, so a bad policy stops a run before any side
// effect.
func Parse(file string, data []byte, repo fs.FS) (*Policy, error) {
	fail := func(n *yaml.Node, field, format string, args ...any) error {
		e := &Error{File: file, Field: field, Problem: fmt.Sprintf(format, args...)}
		if n != nil {
			e.Line = n.Line
		}
		return e
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fail(nil, "", "not valid YAML: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fail(&doc, "", "want a mapping with keys, require, maxAge, images, allow")
	}
	root := doc.Content[0]
	fields, err := mapping(root, "", []string{"version", "keys", "require", "maxAge", "images", "allow"}, fail)
	if err != nil {
		return nil, err
	}
	p := &Policy{MaxAge: DefaultMaxAge}
	if n := fields["version"]; n != nil && n.Value != "1" {
		return nil, fail(n, "version", "version %q, goship reads version 1", n.Value)
	}
	if p.Keys, err = parseKeys(fields["keys"], repo, fail); err != nil {
		return nil, err
	}
	if p.Require, err = parseRequire(fields["require"], fail); err != nil {
		return nil, err
	}
	if n := fields["maxAge"]; n != nil {
		if p.MaxAge, err = parseAge(n.Value); err != nil {
			return nil, fail(n, "maxAge", "%v", err)
		}
	}
	if p.Images, err = parseImages(fields["images"], fail); err != nil {
		return nil, err
	}
	if p.Allow, err = parseAllow(fields["allow"], fail); err != nil {
		return nil, err
	}
	return p, nil
}

type failFunc func(n *yaml.Node, field, format string, args ...any) error

// mapping checks that n is a mapping of known keys and returns its values
// by key.
func mapping(n *yaml.Node, at string, known []string, fail failFunc) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fail(n, at, "want a mapping with %s", strings.Join(known, ", "))
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		if at != "" {
			field = at + "." + k.Value
		}
		if !slices.Contains(known, k.Value) {
			return nil, fail(k, field, "unknown field (known: %s)", strings.Join(known, ", "))
		}
		if _, dup := out[k.Value]; dup {
			return nil, fail(k, field, "given twice")
		}
		out[k.Value] = v
	}
	return out, nil
}

// sequence checks that n (if given) is a sequence.
func sequence(n *yaml.Node, field string, fail failFunc) ([]*yaml.Node, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fail(n, field, "want a list")
	}
	return n.Content, nil
}

// scalar is n's string value; n must be a scalar.
func scalar(n *yaml.Node, field string, fail failFunc) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fail(n, field, "want a string")
	}
	return n.Value, nil
}

var keyNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$`)

func parseKeys(n *yaml.Node, repo fs.FS, fail failFunc) ([]Key, error) {
	items, err := sequence(n, "keys", fail)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fail(n, "keys", "no trusted key: give at least one (path: .goship/cosign.pub, or pem: inline)")
	}
	var out []Key
	for i, item := range items {
		at := fmt.Sprintf("keys[%d]", i)
		f, err := mapping(item, at, []string{"name", "path", "pem"}, fail)
		if err != nil {
			return nil, err
		}
		var k Key
		if f["name"] == nil {
			return nil, fail(item, at+".name", "missing: name the key (lower-case letters, digits, dashes), e.g. release")
		}
		if k.Name, err = scalar(f["name"], at+".name", fail); err != nil {
			return nil, err
		}
		if !keyNameRE.MatchString(k.Name) {
			return nil, fail(f["name"], at+".name", "%q: use lower-case letters, digits and dashes (it names the key in the ClusterImagePolicy)", k.Name)
		}
		if slices.ContainsFunc(out, func(o Key) bool { return o.Name == k.Name }) {
			return nil, fail(f["name"], at+".name", "%q names two keys", k.Name)
		}
		src := at + ".pem"
		switch {
		case f["path"] != nil && f["pem"] != nil:
			return nil, fail(item, at, "give either path or pem, not both")
		case f["pem"] != nil:
			s, err := scalar(f["pem"], src, fail)
			if err != nil {
				return nil, err
			}
			k.PEM = []byte(s)
		case f["path"] != nil:
			src = at + ".path"
			p, err := scalar(f["path"], src, fail)
			if err != nil {
				return nil, err
			}
			clean := path.Clean(p)
			if path.IsAbs(p) || !fs.ValidPath(clean) {
				return nil, fail(f["path"], src, "%q: give a path relative to the repository root, inside it (e.g. .goship/cosign.pub)", p)
			}
			if k.PEM, err = fs.ReadFile(repo, clean); err != nil {
				return nil, fail(f["path"], src, "cannot read %s: %v", clean, err)
			}
		default:
			return nil, fail(item, at, "give the public key: path (relative to the repository) or pem (inline)")
		}
		node := f["pem"]
		if node == nil {
			node = f["path"]
		}
		if k.Key, err = parsePublicKey(k.PEM); err != nil {
			return nil, fail(node, src, "%v", err)
		}
		if slices.ContainsFunc(out, func(o Key) bool { return o.Key.Fingerprint() == k.Key.Fingerprint() }) {
			return nil, fail(node, src, "the same key as another entry (%s)", k.Key.Fingerprint())
		}
		out = append(out, k)
	}
	return out, nil
}

// parsePublicKey reads a PEM public key, telling a private key, a
// certificate or a non-PEM file apart.
func parsePublicKey(b []byte) (*sign.PublicKey, error) {
	s := string(b)
	switch {
	case strings.Contains(s, "PRIVATE KEY-----"):
		return nil, errors.New("this is a private key: put the public half here (cosign.pub, or openssl ec -in key -pubout), and keep the private key in a secret")
	case strings.Contains(s, "BEGIN CERTIFICATE"):
		return nil, errors.New("this is a certificate: give the public key (PEM, BEGIN PUBLIC KEY); keyless certificates are not supported")
	case !strings.Contains(s, "-----BEGIN PUBLIC KEY-----"):
		return nil, errors.New("not a PEM public key (want -----BEGIN PUBLIC KEY-----, as cosign generate-key-pair writes cosign.pub)")
	}
	return sign.ParsePublicKey(b)
}

func parseRequire(n *yaml.Node, fail failFunc) ([]string, error) {
	items, err := sequence(n, "require", fail)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, item := range items {
		at := fmt.Sprintf("require[%d]", i)
		v, err := scalar(item, at, fail)
		if err != nil {
			return nil, err
		}
		uri, ok := PredicateTypes[v]
		if !ok {
			for short, u := range PredicateTypes {
				if v == u {
					uri, ok, v = u, true, short
				}
			}
		}
		if !ok {
			return nil, fail(item, at, "unknown predicate type %q (known: %s)", v, strings.Join(knownTypes(), ", "))
		}
		if slices.Contains(out, uri) {
			return nil, fail(item, at, "%s given twice", v)
		}
		out = append(out, uri)
	}
	return out, nil
}

func knownTypes() []string {
	var out []string
	for k := range PredicateTypes {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var dayRE = regexp.MustCompile(`^([0-9]+)d$`)

// parseAge reads a duration: Go's (720h) or whole days (30d).
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	if m := dayRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 3650 {
			return 0, fmt.Errorf("%q: at most 3650d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (e.g. 30d or 720h)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the maximum age must be positive", s)
	}
	return d, nil
}

// globRE is what policy-controller accepts as an image glob.
var globRE = regexp.MustCompile(`^[a-zA-Z0-9-_:/*.@]+$`)

func parseImages(n *yaml.Node, fail failFunc) ([]string, error) {
	items, err := sequence(n, "images", fail)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, item := range items {
		at := fmt.Sprintf("images[%d]", i)
		g, err := scalar(item, at, fail)
		if err != nil {
			return nil, err
		}
		if !globRE.MatchString(g) || !strings.Contains(g, "/") {
			return nil, fail(item, at, "%q is not an image glob (e.g. registry.cn-hangzhou.aliyuncs.com/acme/**)", g)
		}
		out = append(out, g)
	}
	return out, nil
}

func parseAllow(n *yaml.Node, fail failFunc) ([]Allow, error) {
	items, err := sequence(n, "allow", fail)
	if err != nil {
		return nil, err
	}
	var out []Allow
	for i, item := range items {
		at := fmt.Sprintf("allow[%d]", i)
		f, err := mapping(item, at, []string{"image", "reason"}, fail)
		if err != nil {
			return nil, err
		}
		if f["image"] == nil {
			return nil, fail(item, at+".image", "missing: give the image as repo@sha256:…")
		}
		img, err := scalar(f["image"], at+".image", fail)
		if err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(img)
		if err != nil {
			return nil, fail(f["image"], at+".image", "%q is not an image reference: %v", img, err)
		}
		d, ok := ref.(name.Digest)
		if !ok {
			return nil, fail(f["image"], at+".image", "%q is not pinned by digest: allow repo@sha256:… (crane digest repo:tag prints it); a tag can move", img)
		}
		a := Allow{Image: img, ref: d}
		if r := f["reason"]; r != nil {
			if a.Reason, err = scalar(r, at+".reason", fail); err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// VerifyOptions are the sign.VerifyOptions of p: its keys, requirements
// and maximum age.
func (p *Policy) VerifyOptions() sign.VerifyOptions {
	o := sign.VerifyOptions{Require: slices.Clone(p.Require), MaxAge: p.MaxAge}
	for _, k := range p.Keys {
		o.Keys = append(o.Keys, k.Key)
	}
	return o
}

// allowed finds the allow entry of d.
func (p *Policy) allowed(d name.Digest) (Allow, bool) {
	for _, a := range p.Allow {
		if a.ref.Context().Name() == d.Context().Name() && a.ref.DigestStr() == d.DigestStr() {
			return a, true
		}
	}
	return Allow{}, false
}
