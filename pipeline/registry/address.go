// Package registry knows container registries, Alibaba Cloud Container
// Registry (ACR) in particular: it parses and validates registry addresses
// and repository names, checks credentials before any build work, and
// verifies, lists, resolves and retags what was pushed, with
// go-containerregistry.
package registry

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Edition is the kind of registry behind a host.
type Edition int

// The editions goship tells apart.
const (
	Generic Edition = iota
	// ACRPersonalClassic is registry[-vpc].<region>.aliyuncs.com.
	ACRPersonalClassic
	// ACRPersonal is crpi-<id>[-vpc].<region>.personal.cr.aliyuncs.com,
	// the address of Personal Edition instances created since 2024-09.
	ACRPersonal
	// ACREnterprise is <instance>-registry[-vpc].<region>.cr.aliyuncs.com.
	ACREnterprise
)

func (e Edition) String() string {
	switch e {
	case ACRPersonalClassic:
		return "ACR Personal Edition (classic)"
	case ACRPersonal:
		return "ACR Personal Edition"
	case ACREnterprise:
		return "ACR Enterprise Edition"
	default:
		return "generic OCI registry"
	}
}

// Host is a validated registry address.
type Host struct {
	// Name is host[:port] as given (lower case).
	Name     string
	Edition  Edition
	Region   string // ACR only, e.g. cn-hangzhou
	Instance string // crpi-<id> or the Enterprise instance name
	VPC      bool   // a -vpc endpoint, reachable only from inside the region's VPC
}

// IsACR reports whether h is any ACR edition.
func (h Host) IsACR() bool { return h.Edition != Generic }

// Warnings are likely mistakes that are not errors.
func (h Host) Warnings() []string {
	if h.VPC {
		return []string{fmt.Sprintf("%s is a VPC endpoint: it is reachable only from inside Alibaba Cloud's %s VPC; from a laptop or GitHub Actions use the public endpoint %s",
			h.Name, h.Region, strings.Replace(h.Name, "-vpc", "", 1))}
	}
	return nil
}

const acrForms = "registry.<region>.aliyuncs.com, crpi-<id>.<region>.personal.cr.aliyuncs.com or <instance>-registry.<region>.cr.aliyuncs.com (each also with -vpc)"

var (
	regionRE      = `([a-z]{2}-[a-z0-9]+(?:-[a-z0-9]+)*)`
	acrClassicRE  = regexp.MustCompile(`^registry(-vpc)?\.` + regionRE + `\.aliyuncs\.com$`)
	acrPersonalRE = regexp.MustCompile(`^(crpi-[a-z0-9]+)(-vpc)?\.` + regionRE + `\.personal\.cr\.aliyuncs\.com$`)
	acrEntRE      = regexp.MustCompile(`^([a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9])-registry(-vpc)?\.` + regionRE + `\.cr\.aliyuncs\.com$`)
	acrAPIRE      = regexp.MustCompile(`^cr(-vpc)?\.` + regionRE + `\.aliyuncs\.com$`)
)

// ParseHost validates a registry address: host or host:port, no scheme,
// no path.
func ParseHost(s string) (Host, error) {
	raw := s
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Host{}, fmt.Errorf("registry address is empty")
	case strings.Contains(s, "://"):
		return Host{}, fmt.Errorf("registry address %q: drop the scheme, e.g. %q", raw, s[strings.Index(s, "://")+3:])
	case strings.Contains(s, "/"):
		return Host{}, fmt.Errorf("registry address %q: give only the host; namespace and repository are separate arguments", raw)
	case strings.ToLower(s) != s:
		return Host{}, fmt.Errorf("registry address %q: use lower case", raw)
	}
	if strings.HasSuffix(s, ".aliyuncs.com") {
		return parseACR(s)
	}
	if _, err := name.NewRegistry(s, name.StrictValidation); err != nil || !hostPortRE.MatchString(s) {
		return Host{}, fmt.Errorf("registry address %q is not a valid host[:port]", raw)
	}
	// A bare single label ("myregistry") would be read as a Docker Hub
	// namespace by every image tool.
	if !strings.ContainsAny(s, ".:") && s != "localhost" {
		return Host{}, fmt.Errorf("registry address %q needs a domain or a port (e.g. registry.example.com or localhost:5000)", raw)
	}
	return Host{Name: s, Edition: Generic}, nil
}

var hostPortRE = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::[0-9]{1,5})?$|^\[[0-9a-f:]+\](?::[0-9]{1,5})?$`)

func parseACR(s string) (Host, error) {
	if m := acrClassicRE.FindStringSubmatch(s); m != nil {
		return Host{Name: s, Edition: ACRPersonalClassic, VPC: m[1] != "", Region: m[2]}, nil
	}
	if m := acrPersonalRE.FindStringSubmatch(s); m != nil {
		return Host{Name: s, Edition: ACRPersonal, Instance: m[1], VPC: m[2] != "", Region: m[3]}, nil
	}
	if m := acrEntRE.FindStringSubmatch(s); m != nil && !strings.HasSuffix(m[1], "-vpc") {
		return Host{Name: s, Edition: ACREnterprise, Instance: m[1], VPC: m[2] != "", Region: m[3]}, nil
	}
	if m := acrAPIRE.FindStringSubmatch(s); m != nil {
		return Host{}, fmt.Errorf("%q is the ACR API endpoint, not a registry: use registry.%s.aliyuncs.com (Personal Edition) or your instance's address from the ACR console", s, m[2])
	}
	return Host{}, fmt.Errorf("%q is not an ACR registry address: expected %s", s, acrForms)
}

// Repository is a validated registry/namespace/name.
type Repository struct {
	Host      Host
	Namespace string
	Name      string
}

// String is host/namespace/name.
func (r Repository) String() string {
	if r.Namespace == "" {
		return r.Host.Name + "/" + r.Name
	}
	return r.Host.Name + "/" + r.Namespace + "/" + r.Name
}

// Path is the repository path without the host.
func (r Repository) Path() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Ref is the go-containerregistry form of r.
func (r Repository) Ref() (name.Repository, error) {
	return name.NewRepository(r.String(), name.StrictValidation)
}

var (
	namespaceRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
)

// NewRepository validates namespace and name for host. ACR requires a
// namespace of 2-120 characters of [a-z0-9_.-] with no delimiter at either
// end; Personal Edition repositories are single-level.
func NewRepository(host Host, namespace, repo string) (Repository, error) {
	r := Repository{Host: host, Namespace: namespace, Name: repo}
	if host.IsACR() || namespace != "" {
		if err := validateNamespace(host, namespace); err != nil {
			return Repository{}, err
		}
	}
	if repo == "" {
		return Repository{}, fmt.Errorf("repository name is empty")
	}
	parts := strings.Split(repo, "/")
	if len(parts) > 1 && (host.Edition == ACRPersonal || host.Edition == ACRPersonalClassic) {
		return Repository{}, fmt.Errorf("repository %q: %s allows single-level names only (no \"/\"); multi-level names need Enterprise Edition", repo, host.Edition)
	}
	for _, p := range parts {
		if !componentRE.MatchString(p) {
			return Repository{}, fmt.Errorf("repository %q: %q must be lower-case letters and digits, separated by '.', '_' or '-'", repo, p)
		}
	}
	if _, err := r.Ref(); err != nil {
		return Repository{}, fmt.Errorf("repository %q: %w", r.String(), err)
	}
	return r, nil
}

func validateNamespace(host Host, ns string) error {
	if ns == "" {
		return fmt.Errorf("%s needs a namespace (create one in the ACR console)", host.Edition)
	}
	if len(ns) < 2 || len(ns) > 120 {
		return fmt.Errorf("namespace %q: must be 2-120 characters", ns)
	}
	if !namespaceRE.MatchString(ns) {
		return fmt.Errorf("namespace %q: only lower-case letters, digits, '_', '.' and '-', not at either end", ns)
	}
	// The namespace is a path component of the image reference, where
	// docker accepts one '.', one or two '_' or any '-' between letters
	// and digits, and nothing else.
	if !componentRE.MatchString(ns) {
		return fmt.Errorf("namespace %q: separators must sit between letters or digits: one '.', one or two '_', or dashes (no \"..\", \"._\" or \"___\"); docker rejects the rest", ns)
	}
	return nil
}

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidateTag checks a tag against the OCI distribution grammar.
func ValidateTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag)
	}
	return nil
}
