package scan

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// AllowEntry accepts one finding until it expires. Every entry must say
// why and until when, so accepted risk is reviewed rather than forgotten.
type AllowEntry struct {
	ID      string `yaml:"id"`
	Package string `yaml:"package,omitempty"` // optional: only in this package
	Expires string `yaml:"expires"`           // YYYY-MM-DD, inclusive
	Reason  string `yaml:"reason"`
	until   time.Time
}

func (e AllowEntry) active(now time.Time) bool { return !now.After(e.until) }

// Allowlist is the parsed allowlist file.
type Allowlist []AllowEntry

// ParseAllowlist reads a YAML list of entries (id, package, expires,
// reason).
func ParseAllowlist(data []byte) (Allowlist, error) {
	var entries []AllowEntry
	if err := yaml.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("allowlist: %w", err)
	}
	for i := range entries {
		e := &entries[i]
		if e.ID == "" {
			return nil, fmt.Errorf("allowlist entry %d: no id", i+1)
		}
		if strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("allowlist entry %s: say why it is accepted (reason)", e.ID)
		}
		d, err := time.Parse("2006-01-02", e.Expires)
		if err != nil {
			return nil, fmt.Errorf("allowlist entry %s: expires %q: want YYYY-MM-DD", e.ID, e.Expires)
		}
		e.until = d.Add(24*time.Hour - time.Nanosecond) // the whole day counts
	}
	return entries, nil
}

func (a Allowlist) match(f Finding) (AllowEntry, bool) {
	for _, e := range a {
		if e.ID == f.ID && (e.Package == "" || e.Package == f.Package) {
			return e, true
		}
	}
	return AllowEntry{}, false
}
