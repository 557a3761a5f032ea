//go:build integration

package realagent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/cgroupfs"
)

// The cgroup v1 hierarchies a Mesos agent with cgroups/cpu, cgroups/mem and
// cgroups/pids puts its tasks in (freezer: the linux launcher's).
var mesosHierarchies = []string{"cpu", "cpuacct", "memory", "pids", "freezer"}

// cluster is a real Mesos master and agent on loopback.
type cluster struct {
	name, isolation string
	dir             string // master/, agent/ (the agent's work_dir), master.log, agent.log
	master, agent   *exec.Cmd
	masterAddr      string // 127.0.0.1:PORT
	agentWork       string
	runDirsBefore   map[string]bool // /var/run/mesos/containers before the agent started
}

// busyTaskCgroups lists the cgroups under mesos/ in the hierarchies a Mesos
// agent manages that hold a process (in them or beneath them): a test run of
// someone else's that a starting agent would destroy. An empty one is what a
// killed run left behind; it is removed here (deepest first), as the agent
// would remove it, and does not hold the tier up.
func busyTaskCgroups() []string {
	var busy []string
	for _, h := range mesosHierarchies {
		ents, _ := os.ReadDir(filepath.Join("/sys/fs/cgroup", h, "mesos"))
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			cg := filepath.Join("/sys/fs/cgroup", h, "mesos", e.Name())
			if holdsProcess(cg) {
				busy = append(busy, filepath.Join(h, "mesos", e.Name()))
			} else {
				removeEmptyCgroup(cg)
			}
		}
	}
	return busy
}

// holdsProcess says whether a cgroup or one beneath it has a process; one
// it cannot read counts as held.
func holdsProcess(cg string) bool {
	procs, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil || len(strings.TrimSpace(string(procs))) > 0 {
		return true
	}
	ents, _ := os.ReadDir(cg)
	for _, e := range ents {
		if e.IsDir() && holdsProcess(filepath.Join(cg, e.Name())) {
			return true
		}
	}
	return false
}

// removeEmptyCgroup removes a cgroup without processes, children first.
func removeEmptyCgroup(cg string) {
	ents, _ := os.ReadDir(cg)
	for _, e := range ents {
		if e.IsDir() {
			removeEmptyCgroup(filepath.Join(cg, e.Name()))
		}
	}
	os.Remove(cg)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCluster starts a master and an agent with the given isolators, and
// tears them down at the end of the test (printing their logs if it
// failed). It first waits, up to 5 minutes, until no other run holds task
// cgroups under mesos/: the agent would destroy them.
func startCluster(t *testing.T, name, isolation string) *cluster {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		busy := busyTaskCgroups()
		if len(busy) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another run holds task cgroups under mesos/ (%v) that a starting Mesos agent would destroy: run this tier on its own", busy)
		}
		t.Logf("waiting: another run holds %v", busy)
		time.Sleep(5 * time.Second)
	}
	c := &cluster{name: name, isolation: isolation, runDirsBefore: map[string]bool{}}
	var err error
	if c.dir, err = os.MkdirTemp(dir, "cluster-"+name+"-"); err != nil {
		t.Fatal(err)
	}
	os.Chmod(c.dir, 0o755)
	c.agentWork = filepath.Join(c.dir, "agent")
	ents, _ := os.ReadDir("/var/run/mesos/containers")
	for _, e := range ents {
		c.runDirsBefore[e.Name()] = true
	}
	mport, aport := freePort(t), freePort(t)
	c.masterAddr = fmt.Sprintf("127.0.0.1:%d", mport)
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "SOCKER_RA_AGENT_ENV=agent"}
	c.master = c.start(t, "master", env, filepath.Join(mesosDir, "sbin", "mesos-master"),
		"--ip=127.0.0.1", "--port="+strconv.Itoa(mport), "--hostname=127.0.0.1",
		"--work_dir="+filepath.Join(c.dir, "master"), "--registry=in_memory")
	t.Cleanup(func() { c.stop(t) })
	c.agent = c.start(t, "agent", env, filepath.Join(mesosDir, "sbin", "mesos-agent"),
		"--master="+c.masterAddr, "--ip=127.0.0.1", "--port="+strconv.Itoa(aport), "--hostname=127.0.0.1",
		"--work_dir="+c.agentWork, "--launcher=linux", "--switch_user", "--systemd_enable_support=false",
		"--isolation="+isolation,
		"--resources=cpus:2;mem:2048;disk:4096;ports:[31000-32000]",
		"--launcher_dir="+filepath.Join(mesosDir, "libexec", "mesos"))
	deadline = time.Now().Add(60 * time.Second)
	for {
		var st struct {
			ActivatedSlaves float64 `json:"activated_slaves"`
		}
		if err := c.getJSON("/master/state", &st); err == nil && st.ActivatedSlaves >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not register with the master within 60s")
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("Mesos master %s and agent (--isolation=%s) up; logs in %s", c.masterAddr, isolation, c.dir)
	return c
}

// start runs a Mesos daemon with its output in DIR/NAME.log.
func (c *cluster) start(t *testing.T, name string, env []string, argv ...string) *exec.Cmd {
	t.Helper()
	log, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	log.Close()
	return cmd
}

func (c *cluster) getJSON(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+c.masterAddr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// masterState is the part of /master/state the tests read.
type masterState struct {
	Frameworks []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		User   string `json:"user"`
		Active bool   `json:"active"`
		Tasks  []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"tasks"`
	} `json:"frameworks"`
	CompletedFrameworks []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"completed_frameworks"`
}

// frameworkID returns the id of the framework named name (running or
// completed), or "".
func (c *cluster) frameworkID(t *testing.T, name string) string {
	t.Helper()
	var st masterState
	if err := c.getJSON("/master/state", &st); err != nil {
		t.Fatalf("reading the master's state: %v", err)
	}
	for _, f := range st.Frameworks {
		if f.Name == name {
			return f.ID
		}
	}
	for _, f := range st.CompletedFrameworks {
		if f.Name == name {
			return f.ID
		}
	}
	return ""
}

// teardown asks the master to tear framework id down (the operator
// endpoint: what an operator does to kill a job).
func (c *cluster) teardown(t *testing.T, id string) {
	t.Helper()
	resp, err := http.PostForm("http://"+c.masterAddr+"/master/teardown", url.Values{"frameworkId": {id}})
	if err != nil {
		t.Fatalf("POST /master/teardown: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /master/teardown frameworkId=%s: %s", id, resp.Status)
	}
}

// containerIDs returns the Mesos container ids of framework fw's executors
// on the agent (its sandboxes' run directories), or every container's for
// fw "*".
func (c *cluster) containerIDs(fw string) []string {
	runs, _ := filepath.Glob(filepath.Join(c.agentWork, "slaves", "*", "frameworks", fw, "executors", "*", "runs", "*"))
	var ids []string
	for _, r := range runs {
		if fi, err := os.Lstat(r); err == nil && fi.IsDir() {
			ids = append(ids, filepath.Base(r))
		}
	}
	return ids
}

// sandbox returns the sandbox of executor id, or "".
func (c *cluster) sandbox(id string) string {
	runs, _ := filepath.Glob(filepath.Join(c.agentWork, "slaves", "*", "frameworks", "*", "executors", id, "runs", "*"))
	for _, r := range runs {
		if fi, err := os.Lstat(r); err == nil && fi.IsDir() {
			return r
		}
	}
	return ""
}

// taskCgroupsLeft lists the task cgroup directories of cid still present.
func taskCgroupsLeft(cid string) []string {
	var left []string
	for _, h := range mesosHierarchies {
		d := filepath.Join("/sys/fs/cgroup", h, "mesos", cid)
		if _, err := os.Stat(d); err == nil {
			left = append(left, d)
		}
	}
	return left
}

// stop tears the cluster down: it waits (up to 15 s) for the agent to
// destroy its containers, kills agent and master, then removes what they
// left (task cgroups, the agent's runtime directories, containers, the
// work_dir's mounts) and, if the test failed, prints the daemons' logs.
func (c *cluster) stop(t *testing.T) {
	ids := c.containerIDs("*")
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		busy := false
		for _, id := range ids {
			if len(taskCgroupsLeft(id)) > 0 {
				busy = true
			}
		}
		if !busy {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, cmd := range []*exec.Cmd{c.agent, c.master} {
		if cmd == nil || cmd.Process == nil {
			continue
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	for _, id := range ids {
		left := taskCgroupsLeft(id)
		if len(left) > 0 {
			t.Logf("removing the task cgroups the agent left: %v", left)
		}
		for _, d := range left {
			killCgroup(d)
			for try := 0; try < 50; try++ {
				if cgroupfs.RemoveTree(d) == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !c.runDirsBefore[id] {
			os.RemoveAll(filepath.Join("/var/run/mesos/containers", id))
		}
		if out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=socker.mesos-container-id="+id).Output(); len(strings.Fields(string(out))) > 0 {
			t.Errorf("containers of task %s left when the cluster stopped: %s", id, strings.Fields(string(out)))
			exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(out))...)...).Run()
		}
	}
	if points := unmountUnder(c.dir); len(points) > 0 {
		t.Logf("unmounted %v", points)
	}
	if t.Failed() {
		for _, n := range []string{"master", "agent"} {
			data, _ := os.ReadFile(filepath.Join(c.dir, n+".log"))
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			if len(lines) > 80 {
				lines = lines[len(lines)-80:]
			}
			t.Logf("the %s's log (last %d lines):\n%s", n, len(lines), strings.Join(lines, "\n"))
		}
	}
}

// killCgroup SIGKILLs every process in the cgroup directory d and below.
func killCgroup(d string) {
	filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		return nil
	})
}
