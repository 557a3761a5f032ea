package docs_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The pages are data: package docs imports nothing of socker's but
// internal/manual and internal/exitcode, and the man page generator links
// neither the Docker client nor mesos-go nor either program's packages.
func TestDocsAndMangenAreLeaves(t *testing.T) {
	for _, tt := range []struct {
		pkg     string
		allowed func(dep string) bool
	}{
		{"github.com/sockerhpc/socker/docs", func(dep string) bool {
			return !strings.Contains(dep, ".") || // the standard library
				dep == "github.com/sockerhpc/socker/docs" ||
				dep == "github.com/sockerhpc/socker/internal/manual" ||
				dep == "github.com/sockerhpc/socker/internal/exitcode"
		}},
		{"github.com/sockerhpc/socker/internal/mangen", func(dep string) bool {
			for _, bad := range []string{"github.com/docker/", "github.com/mesos/", "/socker/wrapper", "/socker/sched", "/socker/security", "/socker/cgroup"} {
				if strings.Contains(dep, bad) {
					return false
				}
			}
			return true
		}},
	} {
		out, err := exec.Command("go", "list", "-deps", tt.pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", tt.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !tt.allowed(dep) {
				t.Errorf("%s links %s", tt.pkg, dep)
			}
		}
	}
}
