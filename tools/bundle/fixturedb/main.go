// Command fixturedb writes a tiny Trivy vulnerability database with one Go
// advisory, for goship's offline scan tests. It lives in the tools bundle
// beside trivy, so it writes with the same trivy-db version the pinned trivy
// binary reads.
//
//	go run ./fixturedb -dir CACHE -id GOSHIP-2026-0001 -pkg example.com/vulnlib -vulnerable "<1.0.1" -patched 1.0.1
//
// Then: trivy ... --cache-dir CACHE --skip-db-update --offline-scan
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	bolt "go.etcd.io/bbolt"
)

func main() {
	dir := flag.String("dir", "", "Trivy cache dir; the DB goes to DIR/db")
	id := flag.String("id", "GOSHIP-2026-0001", "vulnerability id")
	pkg := flag.String("pkg", "", "Go module path")
	vulnerable := flag.String("vulnerable", "", `vulnerable range, e.g. "<1.0.1"`)
	patched := flag.String("patched", "", "first fixed version")
	severity := flag.String("severity", "HIGH", "LOW, MEDIUM, HIGH or CRITICAL")
	flag.Parse()
	if *dir == "" || *pkg == "" || *vulnerable == "" {
		fmt.Fprintln(os.Stderr, "fixturedb: -dir, -pkg and -vulnerable are required")
		os.Exit(2)
	}
	if err := write(*dir, *id, *pkg, *vulnerable, *patched, *severity); err != nil {
		fmt.Fprintln(os.Stderr, "fixturedb:", err)
		os.Exit(1)
	}
}

func write(cacheDir, id, pkg, vulnerable, patched, severity string) error {
	sev, err := types.NewSeverity(severity)
	if err != nil {
		return err
	}
	dbDir := filepath.Join(cacheDir, "db")
	if err := os.MkdirAll(dbDir, 0o755); err != nil {
		return err
	}
	if err := db.Init(dbDir); err != nil {
		return fmt.Errorf("init db: %w", err)
	}
	defer func() { _ = db.Close() }()
	const bucket = "go::GitHub Security Advisory Go"
	dbc := db.Config{}
	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		if err := dbc.PutDataSource(tx, bucket, types.DataSource{ID: "ghsa", Name: "GitHub Security Advisory Go", URL: "https://github.com/advisories"}); err != nil {
			return err
		}
		adv := types.Advisory{VulnerableVersions: []string{vulnerable}}
		if patched != "" {
			adv.PatchedVersions = []string{patched}
		}
		if err := dbc.PutAdvisoryDetail(tx, id, pkg, []string{bucket}, adv); err != nil {
			return err
		}
		if err := dbc.PutVulnerabilityDetail(tx, id, "ghsa", types.VulnerabilityDetail{ID: id, Severity: sev, Title: "goship fixture advisory for " + pkg}); err != nil {
			return err
		}
		// Trivy dereferences this entry; without it the scan panics.
		if err := dbc.PutVulnerability(tx, id, types.Vulnerability{
			Title: "goship fixture advisory for " + pkg, Severity: sev.String(),
			VendorSeverity: types.VendorSeverity{"ghsa": sev},
		}); err != nil {
			return err
		}
		if err := dbc.PutVulnerabilityID(tx, id); err != nil {
			return err
		}
		return dbc.SaveAdvisoryDetails(tx, id)
	})
	if err != nil {
		return fmt.Errorf("write advisory: %w", err)
	}
	now := time.Now().UTC()
	return metadata.NewClient(dbDir).Update(metadata.Metadata{Version: 2, UpdatedAt: now, NextUpdate: now.Add(24 * time.Hour), DownloadedAt: now})
}
