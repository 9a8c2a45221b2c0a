package host

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"time"
)

// ReleaseDir is the directory of release name.
func (s *App) ReleaseDir(name string) string { return s.appDir + "/releases/" + name }

// ComposeCmd is the compose invocation for a release directory.
func (s *App) ComposeCmd(release, args string) string {
	return fmt.Sprintf("cd %s && %s -p %s -f compose.yaml %s", Q(s.ReleaseDir(release)), s.compose, Q(s.project), args)
}

// WriteRelease creates releases/<name>/ from a tar stream on stdin, so the
// .env content never appears in any argv. It is written to a temp dir and
// renamed, so a cut connection leaves no half-written release.
func (s *App) WriteRelease(ctx context.Context, name string, files map[string]File) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, fname := range []string{"compose.yaml", ".env", "release.json"} {
		f, ok := files[fname]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: fname, Mode: f.Mode, Size: int64(len(f.Data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	dir := s.ReleaseDir(name)
	script := fmt.Sprintf("set -e; umask 077; rm -rf %[1]s.tmp; mkdir -p %[1]s.tmp; tar -x -C %[1]s.tmp; chmod 0700 %[1]s.tmp; mv %[1]s.tmp %[1]s", Q(dir))
	if _, err := s.Run(ctx, "write release "+name, script, &buf); err != nil {
		return fmt.Errorf("write release: %w", err)
	}
	return nil
}

// File is one file of a release directory and its mode.
type File struct {
	Data []byte
	Mode int64
}
