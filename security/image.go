package security

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"
)

const maxImageRef = 255

// NormalizeImage returns the canonical form of an image reference:
// "ubuntu" → "docker.io/library/ubuntu:latest"; a digest is kept
// ("repo@sha256:…"). Image IDs, names that look like options, invalid UTF-8
// and anything the reference grammar rejects are errors.
func NormalizeImage(unsafeRef string) (string, error) {
	if unsafeRef == "" || len(unsafeRef) > maxImageRef || !utf8.ValidString(unsafeRef) {
		return "", fmt.Errorf("invalid image reference %q", unsafeRef)
	}
	if strings.HasPrefix(unsafeRef, "-") {
		return "", fmt.Errorf("invalid image reference %q: looks like an option", unsafeRef)
	}
	named, err := reference.ParseNormalizedNamed(unsafeRef)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %v", unsafeRef, err)
	}
	if _, ok := named.(reference.Digested); !ok {
		named = reference.TagNameOnly(named)
	}
	return named.String(), nil
}
