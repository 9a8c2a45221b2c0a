package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one file to place in the image.
type File struct {
	Path    string // absolute path in the image
	Mode    int64
	Content []byte
}

// Assemble builds a single-layer image on an empty base from files and spec,
// with Docker media types (accepted by every registry, ACR included). It is
// the engine-free twin of the module's Build, used for fixtures and for
// users without a Dagger engine.
func Assemble(spec RuntimeSpec, files ...File) (v1.Image, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	layerTar, err := tarFiles(files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.DockerLayer))
	if err != nil {
		return nil, fmt.Errorf("assemble layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.DockerManifestSchema2)
	base = mutate.ConfigMediaType(base, types.DockerConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, fmt.Errorf("assemble image: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = configFor(spec)
	if created, ok := spec.Labels[LabelCreated]; ok {
		if t, err := time.Parse(time.RFC3339, created); err == nil {
			cf.Created = v1.Time{Time: t}
		}
	}
	return mutate.ConfigFile(img, cf)
}

func configFor(spec RuntimeSpec) v1.Config {
	cfg := v1.Config{
		Entrypoint: []string{spec.BinaryPath},
		Cmd:        spec.Args,
		User:       spec.User,
		WorkingDir: spec.Workdir,
		Env:        append([]string{"PATH=/"}, spec.Env...),
		Labels:     spec.Labels,
	}
	if spec.Port > 0 {
		cfg.ExposedPorts = map[string]struct{}{strconv.Itoa(spec.Port) + "/tcp": {}}
	}
	if h := spec.Healthcheck; h != nil {
		cfg.Healthcheck = &v1.HealthConfig{
			Test:        append([]string{"CMD"}, h.Command...),
			Interval:    h.Interval,
			Timeout:     h.Timeout,
			StartPeriod: h.StartPeriod,
			Retries:     h.Retries,
		}
	}
	return cfg
}

// tarFiles writes files, and the directories above them, into a tar with
// fixed timestamps and root ownership so equal inputs give equal digests.
func tarFiles(files []File) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range sorted {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("image file %q: path must be absolute", f.Path)
		}
		for _, d := range parents(f.Path) {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: 0o755}); err != nil {
				return nil, err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Path[1:], Mode: f.Mode, Size: int64(len(f.Content))}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// parents lists the directories above p, outermost first, without "/".
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}
