package testworld

import (
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrImageUnreadable is a CopyImage whose source could not be read (the
// kit that should have built it is missing, say).
var ErrImageUnreadable = errors.New("source image unreadable")

// CopyImage copies an image between plain-HTTP registries, changed by
// edit when it is not nil, and returns the copy pinned by digest.
func CopyImage(from, to string, edit func(v1.Image) (v1.Image, error)) (string, error) {
	src, err := name.ParseReference(from, name.Insecure)
	if err != nil {
		return "", err
	}
	img, err := remote.Image(src)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w: %w", from, ErrImageUnreadable, err)
	}
	if edit != nil {
		if img, err = edit(img); err != nil {
			return "", err
		}
	}
	dst, err := name.ParseReference(to, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(dst, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", to, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return dst.Context().String() + "@" + d.String(), nil
}
