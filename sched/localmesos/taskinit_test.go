package localmesos

import "testing"

func TestReleaseAtLeast(t *testing.T) {
	for _, tc := range []struct {
		release string
		want    bool
	}{
		{"6.1.0-57-amd64", false}, // Debian 12
		{"6.10.9", false},
		{"6.11.0", true},
		{"6.18.44-fc-v1272", true},
		{"7.0", true},
		{"5.15.0-91-generic", false},
		{"", false},
		{"x.y", false},
	} {
		if got := releaseAtLeast(tc.release, 6, 11); got != tc.want {
			t.Errorf("releaseAtLeast(%q, 6, 11) = %v, want %v", tc.release, got, tc.want)
		}
	}
}
