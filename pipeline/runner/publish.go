package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goship-dev/goship/pipeline/image"
	"github.com/goship-dev/goship/pipeline/job"
	"github.com/goship-dev/goship/pipeline/registry"
)

// publish checks the push (credentials against the registry, the signing
// key) or, past the check, pushes the image layout, verifies the pushed
// digest and tags, and signs it with its evidence.
func publish(ctx context.Context, e *env, j job.Job) (job.Result, error) {
	p := j.Publish
	if p == nil || p.Push == nil {
		return job.Result{}, errors.New("a publish job without its settings")
	}
	creds, err := credentials(p.Push)
	if err != nil {
		return job.Result{}, err
	}
	repo, err := parseRepository(p.Repository)
	if err != nil {
		return job.Result{}, err
	}
	opts := e.registryOptions(creds)
	var signer *signer
	if p.Sign != nil {
		if signer, err = loadSigner(*p.Sign); err != nil {
			return job.Result{}, err
		}
	}
	if j.Check {
		if err := registry.CheckCredentials(ctx, repo, opts...); err != nil {
			return job.Result{}, err
		}
		return job.Result{Output: "the push to " + p.Repository + " is ready"}, nil
	}
	layout, cleanup, err := unpackLayout(p.Layout)
	if err != nil {
		return job.Result{}, err
	}
	defer cleanup()
	digest, err := registry.PushLayout(ctx, layout, repo.String(), p.Tags, opts...)
	if err != nil {
		return job.Result{}, err
	}
	ref, err := registry.Verify(ctx, repo.String(), digest, p.Tags, opts...)
	if err != nil {
		return job.Result{}, err
	}
	res := job.Result{Reference: ref}
	if signer == nil {
		return res, nil
	}
	out, err := signer.sign(ctx, e, ref, opts)
	if err != nil {
		return job.Result{}, fmt.Errorf("pushed %s, but signing it failed: %w", ref, err)
	}
	res.Output = out
	return res, nil
}

// parseRepository reads host/namespace/name back as the module built it.
func parseRepository(s string) (registry.Repository, error) {
	host, path, ok := strings.Cut(s, "/")
	if !ok {
		return registry.Repository{}, fmt.Errorf("repository %q: want host/namespace/name", s)
	}
	h, err := registry.ParseHost(host)
	if err != nil {
		return registry.Repository{}, err
	}
	ns, name := "", path
	if i := strings.LastIndex(path, "/"); i >= 0 {
		ns, name = path[:i], path[i+1:]
	}
	return registry.NewRepository(h, ns, name)
}

// unpackLayout unpacks the image tarball the module built into an OCI
// layout directory.
func unpackLayout(tarball string) (string, func(), error) {
	f, err := os.Open(tarball)
	if err != nil {
		return "", func() {}, fmt.Errorf("the image to push: %w", err)
	}
	defer func() { _ = f.Close() }()
	dir, err := os.MkdirTemp("", "goship-layout-")
	if err != nil {
		return "", func() {}, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	layout := filepath.Join(dir, "layout")
	if err := image.Untar(f, layout); err != nil {
		cleanup()
		return "", func() {}, fmt.Errorf("unpacking the image to push: %w", err)
	}
	return layout, cleanup, nil
}

// mirror copies goship's default images into a registry prefix.
func mirror(ctx context.Context, e *env, j job.Job) (job.Result, error) {
	m := j.Mirror
	if m == nil {
		return job.Result{}, errors.New("a mirror job without its settings")
	}
	host, namespace, _ := strings.Cut(m.To, "/")
	h, err := registry.ParseHost(host)
	if err != nil {
		return job.Result{}, err
	}
	if _, err := registry.NewRepository(h, namespace, "probe"); err != nil && h.IsACR() {
		return job.Result{}, err
	}
	jobs, err := image.MirrorPlan(m.To)
	if err != nil {
		return job.Result{}, err
	}
	creds, err := credentials(m.Push)
	if err != nil {
		return job.Result{}, err
	}
	var done []string
	for _, cj := range jobs {
		if err := registry.Copy(ctx, cj.From, cj.To, e.registryOptions(creds)...); err != nil {
			return job.Result{}, err
		}
		e.logf("%s -> %s", cj.From, cj.To)
		done = append(done, fmt.Sprintf("%s -> %s", cj.From, cj.To))
	}
	return job.Result{Output: strings.Join(done, "\n")}, nil
}
