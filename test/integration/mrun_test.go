//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/sched/localmesos"
)

// buildMrun builds cmd/mrun into dir (readable by the test users).
func buildMrun(t *testing.T) string {
	t.Helper()
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mrun")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/mrun")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building mrun: %v\n%s", err, out)
	}
	return bin
}

// aliceContainers lists containers socker created for alice, running or not.
func aliceContainers(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=socker.user="+alice.Name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// The end-to-end path: mrun, run by alice, subscribes to the embedded local
// Mesos (two agents, run here as root so that they launch tasks as alice in
// Mesos-layout cgroups, as a real agent with --switch_user does), gang-places
// 4 ranks on 2 agents, starts mpiexec.hydra with the manual launcher and
// launches one task per agent that runs hydra_pmi_proxy through socker in a
// socker/mpich:4 container. A failing program makes mrun fail and leaves no
// container behind.
func TestMrun_HelloOnLocalMesos(t *testing.T) {
	withConfig(t, mpiConfig(t))
	mrun := buildMrun(t)
	cluster, err := localmesos.Start(localmesos.Config{Agents: 2, CPUs: 2, Mem: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	mrunCmd := func(program ...string) *exec.Cmd {
		args := append([]string{"--reuid=" + alice.Name, "--regid=" + alice.Name, "--init-groups", "--", mrun,
			"-N", "2", "-n", "4", "-c", "0.5", "-m", "128", "--image", mpiImage, "--master", cluster.URL(),
			"--socker", socker, "--timeout", "30s"}, program...)
		cmd := exec.Command("setpriv", args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C", "UCX_NET_DEVICES=lo"}
		return cmd
	}

	start := time.Now()
	r := run(t, mrunCmd("mpi-hello"), "")
	t.Logf("mrun hello took %v; stderr:\n%s", time.Since(start), r.stderr)
	if r.code != 0 {
		t.Fatalf("mrun exit %d\nstdout %q", r.code, r.stdout)
	}
	rank := regexp.MustCompile(`^rank (\d+) of 4 on \S+ uid (\d+)$`)
	var ranks []int
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		m := rank.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("unexpected output line %q", l)
			continue
		}
		if m[2] != strconv.Itoa(int(alice.UID)) {
			t.Errorf("rank %s ran as uid %s, want alice's %d", m[1], m[2], alice.UID)
		}
		n, _ := strconv.Atoi(m[1])
		ranks = append(ranks, n)
	}
	sort.Ints(ranks)
	if len(ranks) != 4 || ranks[0] != 0 || ranks[3] != 3 || ranks[1] != 1 || ranks[2] != 2 {
		t.Errorf("ranks %v, want 0 1 2 3", ranks)
	}
	if ids := aliceContainers(t); len(ids) != 0 {
		t.Errorf("containers left after the job: %v", ids)
	}

	r = run(t, mrunCmd("false"), "")
	if r.code == 0 {
		t.Errorf("a failing program: mrun exit 0, want non-zero; stderr %q", r.stderr)
	}
	time.Sleep(time.Second)
	if ids := aliceContainers(t); len(ids) != 0 {
		t.Errorf("containers left after the failed job: %v", ids)
	}
	if ents, _ := os.ReadDir("/sys/fs/cgroup/memory/mesos"); len(ents) > 0 {
		var dirs []string
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, e.Name())
			}
		}
		if len(dirs) > 0 {
			t.Logf("memory/mesos after the jobs: %v", dirs)
		}
	}
}
