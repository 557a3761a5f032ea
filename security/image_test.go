package security

import (
	"strings"
	"testing"
)

func TestNormalizeImage(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"official image gets library and latest", "ubuntu", "docker.io/library/ubuntu:latest"},
		{"official image with tag", "ubuntu:22.04", "docker.io/library/ubuntu:22.04"},
		{"user repo with tag", "socker-test/tiny:1", "docker.io/socker-test/tiny:1"},
		{"already normalized is unchanged", "docker.io/socker-test/tiny:1", "docker.io/socker-test/tiny:1"},
		{"legacy index.docker.io becomes docker.io", "index.docker.io/library/ubuntu", "docker.io/library/ubuntu:latest"},
		{"registry with port gets latest", "localhost:5000/x", "localhost:5000/x:latest"},
		{"private registry keeps its domain", "registry.example.org/hpc/gromacs:2024", "registry.example.org/hpc/gromacs:2024"},
		{"digest is kept, no tag added", "ubuntu@sha256:" + hex64, "docker.io/library/ubuntu@sha256:" + hex64},
		{"tag and digest both kept", "ubuntu:22.04@sha256:" + hex64, "docker.io/library/ubuntu:22.04@sha256:" + hex64},
		{"registry digest is kept", "localhost:5000/x@sha256:" + hex64, "localhost:5000/x@sha256:" + hex64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeImage(tt.in)
			if err != nil {
				t.Fatalf("NormalizeImage(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("NormalizeImage(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := NormalizeImage(got)
			if err != nil || again != got {
				t.Errorf("NormalizeImage(%q) = %q, %v: not a fixed point", got, again, err)
			}
		})
	}
}

func TestNormalizeImageErrors(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"docker option with value", "-v=/:/host"},
		{"long option", "--privileged"},
		{"single dash", "-"},
		{"uppercase", "UBUNTU"},
		{"uppercase repo under a registry", "docker.io/library/Ubuntu"},
		{"trailing space", "ubuntu "},
		{"leading space", " ubuntu"},
		{"newline", "ubuntu\n"},
		{"uppercase with carriage return (parser echoes the name)", "A\r"},
		{"uppercase with forged audit line", "A\n{\"event\":\"start\"}"},
		{"uppercase with terminal escape", "A\x1b[2J"},
		{"tab", "ubuntu\t"},
		{"DEL", "ubuntu\x7f"},
		{"NUL", "ubu\x00ntu"},
		{"64-hex image id", hex64},
		{"sha256 short image id", "sha256:0123456789ab"},
		{"bare digest after at", "@sha256:" + hex64},
		{"bad digest", "ubuntu@sha256:abc"},
		{"empty tag", "ubuntu:"},
		{"tag too long", "ubuntu:" + strings.Repeat("t", 129)},
		{"name longer than 255", strings.Repeat("a", 256)},
		{"normalized form longer than 255", strings.Repeat("a", 240)},
		{"invalid UTF-8", "ubuntu\xff"},
		{"unicode letters", "ubuntü"},
		{"path traversal", "../ubuntu"},
		{"URL scheme", "https://docker.io/ubuntu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeImage(tt.in)
			if err == nil {
				t.Fatalf("NormalizeImage(%q) = %q, want error", tt.in, got)
			}
			if got != "" {
				t.Errorf("NormalizeImage(%q) returned %q with the error", tt.in, got)
			}
			if !printableLine(err.Error()) { // it echoes the caller's input
				t.Errorf("error is not one printable line: %q", err)
			}
		})
	}
}
