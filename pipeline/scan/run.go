package scan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Reports are the files a scan leaves in its output directory.
func Reports() map[string]string {
	return map[string]string{"json": "trivy.json", "sarif": "trivy.sarif", "cyclonedx": "sbom.cdx.json", "table": "trivy.txt"}
}

// Run scans target with the trivy binary at trivyBin, writes every report
// into outDir, and returns the verdict. It is the engine-free twin of the
// module's Scan (same argv, same gate).
func Run(ctx context.Context, trivyBin string, p Policy, kind TargetKind, target, outDir string, allow Allowlist) (*Report, Verdict, error) {
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return nil, Verdict{}, err
	}
	files := Reports()
	jsonPath := filepath.Join(outDir, files["json"])
	args, err := p.Args(kind, target, jsonPath)
	if err != nil {
		return nil, Verdict{}, err
	}
	if err := trivy(ctx, trivyBin, args...); err != nil {
		return nil, Verdict{}, err
	}
	for _, format := range []string{"sarif", "cyclonedx", "table"} {
		if err := trivy(ctx, trivyBin, ConvertArgs(format, jsonPath, filepath.Join(outDir, files[format]))...); err != nil {
			return nil, Verdict{}, err
		}
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, Verdict{}, err
	}
	report, err := ParseReport(data)
	if err != nil {
		return nil, Verdict{}, err
	}
	return report, Gate(report, p, allow, time.Now()), nil
}

func trivy(ctx context.Context, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("trivy %s: %w: %s", args[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
