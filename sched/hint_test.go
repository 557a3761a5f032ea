package sched

import (
	"strings"
	"testing"
)

func TestSockerHint(t *testing.T) {
	for msg, want := range map[string]string{
		"Command exited with status 77":  "refused the container by the site's policy",
		"Command exited with status 78":  "not installed or configured correctly",
		"Command exited with status 69":  "unavailable",
		"Command exited with status 1":   "",
		"Command terminated with signal": "",
		"":                               "",
	} {
		got := sockerHint(msg)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("sockerHint(%q) = %q, want it to say %q", msg, got, want)
		}
	}
}
