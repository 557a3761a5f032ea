//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// imageEvents returns every Docker image event (pull, tag, delete, ...)
// between since and now.
func imageEvents(t *testing.T, since time.Time) []events.Message {
	t.Helper()
	return dockerEvents(t, since, filters.NewArgs(filters.Arg("type", "image")))
}

// imageID returns the test image's full ID ("sha256:<64 hex>").
func imageID(t *testing.T) string {
	t.Helper()
	ins, err := docker.ImageInspect(context.Background(), image)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ins.ID, "sha256:") || len(ins.ID) != 71 {
		t.Fatalf("unexpected image ID %q", ins.ID)
	}
	return ins.ID
}

// TestAttackImage_References: the listed name runs whether written short or
// fully qualified; an unlisted digest of the allowed name, a name that looks
// like an option, a registry name (never pulled: no image event), the full
// image ID when it is not listed, and 64-hex and short forms of the ID are
// refused, audited once, and create nothing.
func TestAttackImage_References(t *testing.T) {
	ok := task(t, 256*mib)
	for _, ref := range []string{"socker-test/tiny:1", "docker.io/socker-test/tiny:1"} {
		r := run(t, sockerRun(ok, &alice, ref, "sh", "-c", "echo ran"), "")
		if r.code != 0 || r.stdout != "ran\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", ref, r.code, r.stdout, r.stderr)
		}
	}

	id := imageID(t)
	hex := strings.TrimPrefix(id, "sha256:")
	tc := task(t, 64*mib)
	since := time.Now()
	cases := []struct {
		name         string
		args         []string
		code         int
		reason, says string
	}{
		{"unlisted digest of the allowed name", []string{"socker-test/tiny@sha256:" + strings.Repeat("ab", 32), "id"}, 77, "image-not-allowed", "is not allowed"},
		{"allowed tag with an unlisted digest", []string{"socker-test/tiny:1@sha256:" + strings.Repeat("cd", 32), "id"}, 77, "image-not-allowed", "is not allowed"},
		{"image looking like an option", []string{"--entrypoint=/bin/sh", image, "id"}, 64, "usage", "unknown option"},
		{"image starting with - after --", []string{"--", "-privileged", "id"}, 64, "usage", "looks like an option"},
		{"registry name", []string{"registry.example.org/x:1", "id"}, 77, "image-not-allowed", `"registry.example.org/x:1" is not allowed`},
		{"localhost registry", []string{"localhost:5000/socker-test/tiny:1", "id"}, 77, "image-not-allowed", "is not allowed"},
		{"unlisted full image ID", []string{id, "id"}, 77, "image-not-allowed", "is not allowed"},
		{"image ID without sha256:", []string{hex, "id"}, 77, "image-invalid", "invalid image reference"},
		{"upper-case first component (a registry host)", []string{"SOCKER-TEST/tiny:1", "id"}, 77, "image-not-allowed", `"SOCKER-TEST/tiny:1" is not allowed`},
		{"upper-case repository", []string{"socker-test/TINY:1", "id"}, 77, "image-invalid", "invalid image reference"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startProbe(t)
			r := run(t, sockerRun(tc, &alice, c.args...), "")
			p.refused(t, r, c.code, "deny", c.reason, c.says, alice.UID)
		})
	}
	for _, ev := range imageEvents(t, since) {
		t.Errorf("Docker saw an image event (a pull?): %s %s", ev.Action, ev.Actor.ID)
	}
	assertNoContainerEvents(t, since, tc)
}

// TestAttackImage_IDOnlyWhenListed: when the config lists exactly the
// image's full ID, that ID runs (pinned: the container's image is that ID);
// a short ID, with or without "sha256:", is still refused.
func TestAttackImage_IDOnlyWhenListed(t *testing.T) {
	id := imageID(t)
	withConfig(t, allowImages(baseConfig, id))
	ok := task(t, 256*mib)
	r := run(t, sockerRun(ok, &alice, id, "sh", "-c", "echo ran"), "")
	if r.code != 0 || r.stdout != "ran\n" {
		t.Errorf("listed image ID: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	tc := task(t, 64*mib)
	since := time.Now()
	for _, c := range []struct {
		ref, reason, says string
	}{
		{id[:19], "image-invalid", "looks like a partial image ID"},
		{strings.TrimPrefix(id, "sha256:")[:12], "image-not-allowed", "is not allowed"},
		{image, "image-not-allowed", "is not allowed"},
	} {
		t.Run(c.ref, func(t *testing.T) {
			p := startProbe(t)
			r := run(t, sockerRun(tc, &alice, c.ref, "id"), "")
			p.refused(t, r, 77, "deny", c.reason, c.says, alice.UID)
		})
	}
	assertNoContainerEvents(t, since, tc)
}

// TestAttackImage_AllowedButAbsentNeverPulled: an allowed image that is not
// on the node is exit 69 with an "error" record, and socker never pulls it
// (no image event), even from a registry name.
func TestAttackImage_AllowedButAbsentNeverPulled(t *testing.T) {
	absent := "registry.example.org/socker-test/absent:1"
	withConfig(t, allowImages(baseConfig, image, absent))
	tc := task(t, 64*mib)
	since := time.Now()
	p := startProbe(t)
	r := run(t, sockerRun(tc, &alice, absent, "id"), "")
	p.refused(t, r, 69, "error", "image-missing", "socker never pulls", alice.UID)
	for _, ev := range imageEvents(t, since) {
		t.Errorf("Docker saw an image event (a pull?): %s %s", ev.Action, ev.Actor.ID)
	}
	assertNoContainerEvents(t, since, tc)
}
