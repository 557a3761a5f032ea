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
	"syscall"
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
// Mesos-layout cgroups whose directories they chown to her, as a real agent
// with --switch_user does), gang-places 4 ranks on 2 agents, starts
// mpiexec.hydra with the manual launcher and launches one task per agent
// that runs hydra_pmi_proxy through socker in a socker/mpich:4 container,
// with the packaged cluster config (cgroups.allow_delegated off). A failing
// program makes mrun fail and leaves no container behind.
func TestMrun_HelloOnLocalMesos(t *testing.T) {
	withConfig(t, clusterConfig(t, "host", image, mpiImage))
	mrun := buildMrun(t)
	// Shared: run by root for several users, each framework its
	// connecting user's (alice's, here).
	cluster, err := localmesos.Start(localmesos.Config{Agents: 2, CPUs: 2, Mem: 2048, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	master := cluster.URL() // unix:PATH
	mrunCmd := func(program ...string) *exec.Cmd {
		args := append([]string{"--reuid=" + alice.Name, "--regid=" + alice.Name, "--init-groups", "--", mrun,
			"-N", "2", "-n", "4", "-c", "0.5", "-m", "128", "--image", mpiImage, "--master", master,
			"--socker", socker, "--timeout", "30s"}, program...)
		cmd := exec.Command("setpriv", args...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C", "UCX_NET_DEVICES=lo"}
		return cmd
	}

	// While the job runs, note the owner of every task cgroup the agents
	// make (their directories, and the cgroup.procs inside).
	owners := map[string][2]uint32{}
	watchDone, stopWatch := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			dirs, _ := filepath.Glob("/sys/fs/cgroup/memory/mesos/*-*-*-*-*")
			for _, d := range dirs {
				var dst, fst syscall.Stat_t
				if syscall.Stat(d, &dst) == nil && syscall.Stat(d+"/cgroup.procs", &fst) == nil {
					owners[filepath.Base(d)] = [2]uint32{dst.Uid, fst.Uid}
				}
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	before := len(auditLines(t))
	start := time.Now()
	r := run(t, mrunCmd("mpi-hello"), "")
	close(stopWatch)
	<-watchDone
	t.Logf("mrun hello took %v; stderr:\n%s", time.Since(start), r.stderr)
	if r.code != 0 {
		t.Fatalf("mrun exit %d\nstdout %q", r.code, r.stdout)
	}
	started := map[string]bool{}
	for _, rec := range newRecords(t, before) {
		switch rec.Event {
		case "deny", "error":
			t.Errorf("audited %s %s: %s", rec.Event, rec.Reason, rec.Message)
		case "start":
			started[rec.MesosContainerID] = true
		}
	}
	if len(started) != 2 {
		t.Errorf("containers started in %d task cgroups, want 2", len(started))
	}
	for cid := range started {
		if o, ok := owners[cid]; !ok || o != [2]uint32{alice.UID, 0} {
			t.Errorf("task cgroup %s: directory and cgroup.procs owners %v (seen %v), want alice's %d and root's", cid, o, ok, alice.UID)
		}
	}
	// Each rank in a container beneath a task cgroup of the root agents.
	rank := regexp.MustCompile(`^rank (\d+) of 4 on \S+ uid (\d+) cgroup /mesos/[0-9a-f-]{36}/[0-9a-f]{64}$`)
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

// The README's main job, as a non-root user: alice runs mrun --master
// local:2, which starts the embedded local Mesos in her own process. Its
// agents put each task in a cgroup beneath the one root delegated to her
// (mrun --setup-local), and socker, which the site config lets accept such
// cgroups (cgroups.allow_delegated), runs each proxy's container there.
// Every rank reports alice's uid and a cgroup beneath its task's; nothing
// is left behind, after a failing program too. With a cluster node's config
// socker refuses those cgroups, and without the delegation mrun says what
// to do before starting anything.
func TestMrun_LocalAsTheUser(t *testing.T) {
	mrunAs, nothingLeft := localJobs(t)
	tasks := localmesos.DelegatedParent(int(alice.UID)) + "/mesos/"
	mrunCmd := func(program ...string) *exec.Cmd {
		return mrunAs(append([]string{"-N", "2", "-n", "4", "-c", "1"}, program...)...)
	}

	start := time.Now()
	r := run(t, mrunCmd("mpi-hello"), "")
	t.Logf("mrun --master local:2 mpi-hello took %v; stderr:\n%s", time.Since(start), r.stderr)
	if r.code != 0 {
		t.Fatalf("mrun exit %d\nstdout %q", r.code, r.stdout)
	}
	rank := regexp.MustCompile(`^rank (\d) of 4 on \S+ uid (\d+) cgroup (\S+)$`)
	ranks := map[string]bool{}
	perTask := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		m := rank.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("unexpected output line %q", l)
			continue
		}
		ranks[m[1]] = true
		if m[2] != strconv.Itoa(int(alice.UID)) {
			t.Errorf("rank %s ran as uid %s, want alice's %d", m[1], m[2], alice.UID)
		}
		// /mesos/<alice's parent>/mesos/<task's container id>/<Docker's id>
		cid, docker, ok := strings.Cut(strings.TrimPrefix(m[3], tasks), "/")
		if !strings.HasPrefix(m[3], tasks) || !ok || docker == "" || strings.Contains(docker, "/") {
			t.Errorf("rank %s's cgroup %s is not a container's beneath a task cgroup %s<id>", m[1], m[3], tasks)
			continue
		}
		perTask[cid]++
	}
	if len(ranks) != 4 {
		t.Errorf("ranks %v, want 0 1 2 3", ranks)
	}
	if len(perTask) != 2 {
		t.Errorf("ranks per task cgroup %v, want two tasks of two ranks", perTask)
	}
	for cid, n := range perTask {
		if n != 2 {
			t.Errorf("task %s ran %d ranks, want 2", cid, n)
		}
	}
	nothingLeft("the job")

	if r := run(t, mrunCmd("false"), ""); r.code == 0 {
		t.Errorf("a failing program: mrun exit 0, want non-zero; stderr %q", r.stderr)
	}
	nothingLeft("the failed job")

	withConfig(t, mpiConfig(t)) // a cluster node's: cgroups.allow_delegated off
	before := len(auditLines(t))
	if r := run(t, mrunCmd("mpi-hello"), ""); r.code == 0 {
		t.Errorf("without allow_delegated: mrun exit 0, want non-zero; stderr %q", r.stderr)
	}
	denied := 0
	for _, rec := range newRecords(t, before) {
		switch {
		case rec.Event == "deny" && rec.Reason == "cgroup-delegated" && rec.UID == alice.UID:
			denied++
		case rec.Event == "start":
			t.Errorf("a container started without allow_delegated: %+v", rec)
		}
	}
	if denied == 0 {
		t.Error("no cgroup-delegated denial audited")
	}
	nothingLeft("the refused job")

	if err := localmesos.Undelegate(int(alice.UID)); err != nil {
		t.Fatal(err)
	}
	r = run(t, mrunCmd("mpi-hello"), "")
	if r.code != 1 || !strings.Contains(r.stderr, "mrun --setup-local "+alice.Name) {
		t.Errorf("without delegation: exit %d, stderr %q; want 1 and how to set it up", r.code, r.stderr)
	}
}
