package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/sockerhpc/socker/sched/localmesos"
	"github.com/sockerhpc/socker/sched/placement"
)

// maxLocalAgents bounds local:N.
const maxLocalAgents = 64

// parseLocal reads "local" or "local:N" (N agents, default 2). ok is false
// for a master URL.
func parseLocal(master string) (agents int, ok bool, err error) {
	if master != "local" && !strings.HasPrefix(master, "local:") {
		return 0, false, nil
	}
	if master == "local" {
		return 2, true, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(master, "local:"))
	if err != nil || n < 1 || n > maxLocalAgents {
		return 0, true, fmt.Errorf("--master %s: want local or local:N with N from 1 to %d", master, maxLocalAgents)
	}
	return n, true, nil
}

// startLocal starts the embedded local Mesos for the invoking (non-root)
// user: n agents, each offering all of this machine's CPUs as mesos-local's
// agents do, whose tasks run as this user in the cgroups root delegated
// (mrun --setup-local).
func startLocal(n int) (*localmesos.Cluster, error) {
	uid := os.Getuid()
	if !localmesos.HasDelegation(uid) {
		name := strconv.Itoa(uid)
		if u, err := user.LookupId(name); err == nil {
			name = u.Username
		}
		return nil, fmt.Errorf("the local Mesos needs cgroups delegated to you, to put each task in a Mesos task cgroup: as root, run `mrun --setup-local %s` (once per boot)", name)
	}
	return localmesos.Start(localConfig(n))
}

// localConfig is the local Mesos of n agents for the invoking user.
func localConfig(n int) localmesos.Config {
	return localmesos.Config{Agents: n, CPUs: float64(runtime.NumCPU())}
}

// fitsLocal refuses a job that the local Mesos of n agents could not hold
// even with nothing else running: more nodes than agents, or more ranks
// than their cpus and memory hold.
func fitsLocal(job placement.Job, n int) error {
	cpus, mem := localmesos.AgentShare(localConfig(n))
	var offers []placement.Offer
	for i := range n {
		id := fmt.Sprintf("agent-%d", i)
		offers = append(offers, placement.Offer{ID: id, AgentID: id, Hostname: id, CPUs: cpus, MemMB: mem})
	}
	if _, err := placement.Place(job, offers); err != nil {
		return fmt.Errorf("the local Mesos of %d agents (%g cpus and %g MB each) cannot hold this job: %v", n, cpus, mem, err)
	}
	return nil
}

// localSocker is socker's path for a local job: the one on PATH (the
// agents are this machine), else the packaged path.
func localSocker() string {
	if p, err := exec.LookPath("socker"); err == nil && filepath.IsAbs(p) {
		return p
	}
	return defaultSocker
}

// setupLocal (as root) delegates the local Mesos' cgroups to a user.
func setupLocal(name string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("--setup-local must run as root")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return err
	}
	if err := localmesos.Delegate(uid, gid); err != nil {
		return err
	}
	fmt.Printf("mrun: %s's local Mesos makes task cgroups in %s/mesos (every cgroup v1 hierarchy); socker accepts them only with cgroups.allow_delegated = true\n", name, localmesos.DelegatedParent(uid))
	return nil
}
