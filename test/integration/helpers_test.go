//go:build integration

package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/sockerhpc/socker/internal/testutil"
)

// Fixtures several test files share, next to the ones in main_test.go.

// fatalOnError returns must, which fails t on a non-nil error: for setup
// steps that either work or end the test.
func fatalOnError(t *testing.T) func(error) {
	return func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readIfExists returns the file at path, or nil if it does not exist.
func readIfExists(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// auditConfig returns the base config with the audit log at path.
func auditConfig(path string) string {
	return strings.Replace(baseConfig, strconv.Quote(auditPath), strconv.Quote(path), 1)
}

// allowImages returns config (baseConfig or derived from it) with
// images.allow listing refs instead of image.
func allowImages(config string, refs ...string) string {
	return strings.Replace(config, "allow = "+quoteList(image), "allow = "+quoteList(refs...), 1)
}

// allowMounts returns config (baseConfig or derived from it) with
// mounts.allow listing prefixes instead of shareDir, followed by extra (more
// of [mounts], each line starting with a newline).
func allowMounts(config, extra string, prefixes ...string) string {
	return strings.Replace(config, "allow = "+quoteList(shareDir), "allow = "+quoteList(prefixes...)+extra, 1)
}

// quoteList returns items as a TOML array of strings on one line.
func quoteList(items ...string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// copySocker writes a copy of the socker binary to path with mode perm (no
// setuid bit: the caller sets owner and mode).
func copySocker(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(socker)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// mountTmpfs creates dir (mode perm) and mounts a tmpfs with options opts
// on it, unmounted at the end of the test.
func mountTmpfs(t *testing.T, dir string, perm os.FileMode, opts string) {
	t.Helper()
	if err := os.MkdirAll(dir, perm); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
}

// startContainer starts cmd, a socker run in tc, and returns what Docker
// inspects of its container once it runs. At the end of the test the
// wrapper gets SIGTERM and is waited for.
func startContainer(t *testing.T, tc *testutil.TaskCgroup, cmd *exec.Cmd) container.InspectResponse {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	id := waitForContainer(t, tc)
	ins, err := docker.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

// assertSameStates fails the test for every path created, removed or
// changed between before and after.
func assertSameStates[S comparable](t *testing.T, before, after map[string]S) {
	t.Helper()
	for p, b := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		} else if a != b {
			t.Errorf("%s changed: %+v -> %+v", p, b, a)
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created: %+v", p, a)
		}
	}
}
