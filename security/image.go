package security

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"
)

const maxImageRef = 255

var imageID = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// NormalizeImage returns the canonical form of an image reference:
// "ubuntu" → "docker.io/library/ubuntu:latest"; a digest is kept
// ("repo@sha256:…"). Image IDs, names that look like options, invalid UTF-8
// and anything the reference grammar rejects are errors.
func NormalizeImage(unsafeRef string) (string, error) {
	// The grammar is printable ASCII; checking first also keeps the caller's
	// control characters out of the parser's error text (one-line messages).
	if unsafeRef == "" || len(unsafeRef) > maxImageRef || !utf8.ValidString(unsafeRef) ||
		strings.ContainsFunc(unsafeRef, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return "", fmt.Errorf("invalid image reference %q", unsafeRef)
	}
	if strings.HasPrefix(unsafeRef, "-") {
		return "", fmt.Errorf("invalid image reference %q: looks like an option", unsafeRef)
	}
	if strings.HasPrefix(unsafeRef, "sha256:") {
		// A full image ID is allowed only where the admin lists it; short
		// IDs never are.
		if imageID.MatchString(unsafeRef) {
			return unsafeRef, nil
		}
		return "", fmt.Errorf("invalid image reference %q: looks like a partial image ID", unsafeRef)
	}
	named, err := reference.ParseNormalizedNamed(unsafeRef)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %v", unsafeRef, err)
	}
	if _, ok := named.(reference.Digested); !ok {
		named = reference.TagNameOnly(named)
	}
	if out := named.String(); len(out) <= maxImageRef {
		return out, nil
	}
	return "", fmt.Errorf("invalid image reference %q: longer than %d characters once normalized", unsafeRef, maxImageRef)
}
