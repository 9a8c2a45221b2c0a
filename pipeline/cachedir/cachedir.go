// Package cachedir decides what of goship's cache volumes goes into an
// exported cache directory (one subdirectory per volume, named after it
// without the namespace: gomod/, gobuild/, golangci/, trivy/): which
// caches and which of their files, within what age and size, and never a
// file that may hold a secret. The module lists the volumes' files, asks
// Decide, and copies what it keeps; a fresh engine is seeded from that
// directory (--cache-from).
package cachedir

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The caches goship exports, by the name of their volume without the
// namespace. A Trivy cache may carry a suffix naming its DB mirror
// (trivy-1a2b3c4d).
const (
	GoMod   = "gomod"
	GoBuild = "gobuild"
	Lint    = "golangci"
	Trivy   = "trivy"
)

// Entry is one regular file of a cache volume.
type Entry struct {
	Cache   string    // volume name without the namespace, e.g. gobuild
	Path    string    // slash-separated, relative to the volume's root
	Size    int64     // bytes
	ModTime time.Time // Go's caches set it on use, at most hourly
}

// Policy bounds an export.
type Policy struct {
	// MaxAge: build and lint cache entries not used for longer are left
	// out (Go trims its own after 5 days).
	MaxAge time.Duration
	// MaxBytes caps the sum of the kept files' sizes.
	MaxBytes int64
	// Now is the time ages are measured from.
	Now time.Time
}

// Validate says what is wrong with p.
func (p Policy) Validate() error {
	if p.MaxBytes <= 0 {
		return fmt.Errorf("cache size cap %d: must be positive, e.g. 2GiB", p.MaxBytes)
	}
	if p.MaxAge <= 0 {
		return fmt.Errorf("cache max age %s: must be positive, e.g. 5d", p.MaxAge)
	}
	return nil
}

// Reason says why a file was left out.
type Reason string

// Why files are left out.
const (
	// Secret: the path is one that holds credentials or keys (see Secret).
	Secret Reason = "may hold a secret" //nolint:gosec // a reason's wording, not a credential
	// Derived: rebuilt from what is kept, or scratch (extracted module
	// trees, lock and temporary files, Trivy's scan results).
	Derived Reason = "derived or scratch"
	// Unknown: not one of goship's caches.
	Unknown Reason = "not a goship cache"
	// Unused: a build or lint cache entry older than the policy's MaxAge.
	Unused Reason = "unused for longer than the max age"
	// Size: over the size cap.
	Size Reason = "over the size cap"
)

// Tally counts files and bytes.
type Tally struct {
	Files int
	Bytes int64
}

func (t *Tally) add(e Entry) { t.Files++; t.Bytes += e.Size }

// Plan is what an export keeps.
type Plan struct {
	Keep    []Entry // sorted by cache, then path
	Kept    map[string]Tally
	Dropped map[Reason]Tally
	Policy  Policy
}

// KeptBytes is the sum of the kept files' sizes.
func (p Plan) KeptBytes() int64 {
	var n int64
	for _, t := range p.Kept {
		n += t.Bytes
	}
	return n
}

// Decide chooses the files of entries an export keeps under policy:
// first nothing secret, derived or unknown; then no build or lint entry
// unused for longer than MaxAge; then, while over MaxBytes, whole units
// (see unit) dropped in the order of dropRank, least recently used
// first.
func Decide(entries []Entry, policy Policy) Plan {
	plan := Plan{Kept: map[string]Tally{}, Dropped: map[Reason]Tally{}, Policy: policy}
	drop := func(r Reason, e Entry) {
		t := plan.Dropped[r]
		t.add(e)
		plan.Dropped[r] = t
	}
	cutoff := policy.Now.Add(-policy.MaxAge)
	units := map[string]*group{}
	var total int64
	for _, e := range entries {
		if r, ok := leftOut(e); !ok {
			drop(r, e)
			continue
		}
		if agesOut(e) && e.ModTime.Before(cutoff) {
			drop(Unused, e)
			continue
		}
		key := e.Cache + "/" + unit(e)
		u := units[key]
		if u == nil {
			u = &group{key: key, rank: dropRank(e.Cache)}
			units[key] = u
		}
		u.entries = append(u.entries, e)
		u.bytes += e.Size
		if e.ModTime.After(u.used) {
			u.used = e.ModTime
		}
		total += e.Size
	}
	order := make([]*group, 0, len(units))
	for _, u := range units {
		order = append(order, u)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if !a.used.Equal(b.used) {
			return a.used.Before(b.used)
		}
		return a.key < b.key
	})
	for _, u := range order {
		if total > policy.MaxBytes {
			for _, e := range u.entries {
				drop(Size, e)
			}
			total -= u.bytes
			continue
		}
		for _, e := range u.entries {
			plan.Keep = append(plan.Keep, e)
			t := plan.Kept[e.Cache]
			t.add(e)
			plan.Kept[e.Cache] = t
		}
	}
	sort.Slice(plan.Keep, func(i, j int) bool {
		a, b := plan.Keep[i], plan.Keep[j]
		if a.Cache != b.Cache {
			return a.Cache < b.Cache
		}
		return a.Path < b.Path
	})
	return plan
}

// group is a unit of files kept or dropped together.
type group struct {
	key     string
	rank    int
	entries []Entry
	bytes   int64
	used    time.Time // the newest file's mtime
}

// Kind is the kind of cache a volume name is ("" for none of goship's).
func Kind(cache string) string {
	switch {
	case cache == GoMod, cache == GoBuild, cache == Lint, cache == Trivy:
		return cache
	case strings.HasPrefix(cache, Trivy+"-") && len(cache) > len(Trivy)+1 && !strings.ContainsAny(cache, "/."):
		return Trivy
	}
	return ""
}

// leftOut says whether e is exported at all, regardless of age and size,
// and if not, why.
func leftOut(e Entry) (Reason, bool) {
	kind := Kind(e.Cache)
	if kind == "" {
		return Unknown, false
	}
	p := path.Clean(e.Path)
	if p == "." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		return Unknown, false
	}
	if IsSecret(p) {
		return Secret, false
	}
	base := path.Base(p)
	if strings.HasSuffix(base, ".tmp") || strings.HasSuffix(base, ".partial") || strings.HasSuffix(base, ".lock") {
		return Derived, false
	}
	switch kind {
	case GoMod:
		// Only the download cache: module zips, go.mod files and the
		// checksum database. The extracted trees are rebuilt from the
		// zips (and hold every file of every module, .env included);
		// cache/vcs holds clones whose .git/config may carry a token.
		if !strings.HasPrefix(p, "cache/download/") {
			return Derived, false
		}
	case Trivy:
		// fanal/ is Trivy's cache of scan results, secret findings and
		// their matched lines among them.
		if first, _, _ := strings.Cut(p, "/"); first == "fanal" {
			return Derived, false
		}
	}
	return "", true
}

// agesOut reports whether e is a build or lint cache entry, whose mtime
// says when it was last used (the -a and -d files of Go's cache layout,
// which golangci-lint's cache shares).
func agesOut(e Entry) bool {
	kind := Kind(e.Cache)
	if kind != GoBuild && kind != Lint {
		return false
	}
	return strings.HasSuffix(e.Path, "-a") || strings.HasSuffix(e.Path, "-d")
}

// unit is what is kept or dropped together with e: a module version's
// files (.info, .mod, .zip, .ziphash), a Trivy DB directory whole (a DB
// without its metadata, or the reverse, would fail the scan), else the
// file alone.
func unit(e Entry) string {
	switch Kind(e.Cache) {
	case GoMod:
		if dir, file := path.Split(e.Path); strings.HasSuffix(dir, "/@v/") && file != "list" {
			return dir + strings.TrimSuffix(file, path.Ext(file))
		}
	case Trivy:
		first, _, _ := strings.Cut(e.Path, "/")
		return first
	}
	return e.Path
}

// dropRank orders caches for the size cap, lowest dropped first: Trivy's
// DBs (a few seconds to download, and refreshed daily anyway), then the
// build and lint caches (the work of a cold run), then the module
// download (the network, which a mirror may make slow).
func dropRank(cache string) int {
	switch Kind(cache) {
	case Trivy:
		return 0
	case GoBuild, Lint:
		return 1
	}
	return 2
}

// secretNames are file names that hold credentials or keys.
var secretNames = map[string]bool{
	".netrc": true, "_netrc": true, ".git-credentials": true, ".gitconfig": true,
	".npmrc": true, ".pypirc": true, ".pgpass": true, ".htpasswd": true,
	"credentials": true, "credentials.json": true, "auth.json": true,
	".dockercfg": true, "id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true,
	".env": true, "kubeconfig": true,
}

// secretDirs are directories whose files hold credentials or keys.
var secretDirs = map[string]bool{
	".ssh": true, ".docker": true, ".aws": true, ".kube": true, ".gnupg": true,
	".azure": true, ".config": true,
}

// secretExts are extensions of key and certificate-store files.
var secretExts = map[string]bool{
	".pem": true, ".key": true, ".p12": true, ".pfx": true, ".jks": true, ".keystore": true,
	".gpg": true, ".asc": true, ".ppk": true,
}

// IsSecret reports whether a cache file's slash-separated path is one that
// may hold a secret: by name (.netrc, .env and .env.*, id_rsa, …), by
// extension (.pem, .key, …) or by a directory on its path (.ssh, .docker,
// …). No cache goship exports has a legitimate file there (a module path
// element cannot start with a dot), so matching by path alone is safe.
func IsSecret(p string) bool {
	parts := strings.Split(path.Clean(p), "/")
	for _, dir := range parts[:len(parts)-1] {
		if secretDirs[dir] {
			return true
		}
	}
	base := parts[len(parts)-1]
	if secretNames[base] || strings.HasPrefix(base, ".env.") || strings.HasPrefix(base, "id_rsa") ||
		strings.HasPrefix(base, "id_ed25519") || strings.HasPrefix(base, "id_ecdsa") {
		return true
	}
	return secretExts[path.Ext(base)]
}

// Restore is what of a seed directory's cache/ subdirectory reaches the
// volume (Dagger's Include/Exclude patterns, relative to the seed's
// root): what an export keeps, so that a directory from elsewhere never
// plants credentials, VCS clones or scan results in a volume either.
// Patterns match directories too, so the names a Go module path element
// may take (credentials, kubeconfig, id_rsa, …) are left to the export's
// file-by-file check: excluding them here would drop modules such as
// github.com/aws/aws-sdk-go-v2/credentials.
func Restore(cache string) (include, exclude []string) {
	switch Kind(cache) {
	case GoMod:
		include = []string{cache + "/cache/download/**"}
	case Trivy:
		include = []string{cache + "/**"}
		exclude = append(exclude, cache+"/fanal")
	default:
		include = []string{cache + "/**"}
	}
	for name := range secretNames {
		if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			exclude = append(exclude, "**/"+name)
		}
	}
	exclude = append(exclude, "**/.env.*")
	for dir := range secretDirs {
		exclude = append(exclude, "**/"+dir)
	}
	for ext := range secretExts {
		exclude = append(exclude, "**/*"+ext)
	}
	sort.Strings(exclude)
	return include, exclude
}

// ListScript prints, for each cache mounted at root/<name>, every regular
// file as "<name> <size> <mtime seconds> <path>" followed by a NUL, which
// ParseListing reads (GNU find).
func ListScript(root string, caches []string) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, c := range caches {
		fmt.Fprintf(&b, "cd %s/%s && find . -type f -printf '%s %%s %%T@ %%P\\0'\n", root, c, c)
	}
	return b.String()
}

// CopyScript copies the files named in keepList (KeepList's format) from
// root to out, keeping their mtimes (the age of each entry), with GNU tar.
// A file gone since the listing (a volume in use) is skipped, not an
// error. Run it with bash -o pipefail.
func CopyScript(root, keepList, out string) string {
	return fmt.Sprintf("tar -C %s --null --files-from=%s --ignore-failed-read -cf - | tar -C %s -xf -", root, keepList, out)
}

// ParseListing reads ListScript's output.
func ParseListing(data []byte) ([]Entry, error) {
	var out []Entry
	for _, rec := range bytes.Split(data, []byte{0}) {
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		fields := strings.SplitN(string(rec), " ", 4)
		if len(fields) != 4 || fields[3] == "" {
			return nil, fmt.Errorf("cache listing: malformed record %q", rec)
		}
		size, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("cache listing: size of %s/%s: %q", fields[0], fields[3], fields[1])
		}
		secs, err := strconv.ParseFloat(fields[2], 64)
		if err != nil {
			return nil, fmt.Errorf("cache listing: mtime of %s/%s: %q", fields[0], fields[3], fields[2])
		}
		whole := int64(secs)
		mtime := time.Unix(whole, int64((secs-float64(whole))*1e9)).UTC()
		out = append(out, Entry{Cache: fields[0], Path: fields[3], Size: size, ModTime: mtime})
	}
	return out, nil
}

// KeepList is the kept files as <cache>/<path>, each followed by a NUL,
// for tar --null --files-from.
func (p Plan) KeepList() []byte {
	var b bytes.Buffer
	for _, e := range p.Keep {
		b.WriteString(e.Cache + "/" + e.Path)
		b.WriteByte(0)
	}
	return b.Bytes()
}

// Summary is the plan in words, written beside the export.
func (p Plan) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "goship caches exported at %s: %s of at most %s (sum of file sizes; entries unused for %s left out)\n",
		p.Policy.Now.UTC().Format(time.RFC3339), FormatSize(p.KeptBytes()), FormatSize(p.Policy.MaxBytes), p.Policy.MaxAge)
	caches := make([]string, 0, len(p.Kept))
	for c := range p.Kept {
		caches = append(caches, c)
	}
	sort.Strings(caches)
	for _, c := range caches {
		fmt.Fprintf(&b, "kept %s: %d files, %s\n", c, p.Kept[c].Files, FormatSize(p.Kept[c].Bytes))
	}
	for _, r := range []Reason{Secret, Derived, Unknown, Unused, Size} {
		if t, ok := p.Dropped[r]; ok {
			fmt.Fprintf(&b, "left out (%s): %d files, %s\n", r, t.Files, FormatSize(t.Bytes))
		}
	}
	return b.String()
}
