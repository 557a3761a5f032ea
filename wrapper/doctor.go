package wrapper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// doctor checks the installation as the caller sees it and prints one line
// per check: "ok" or "FAIL" with the fix. It starts nothing. Exit status 0
// when every check passed, 78 otherwise.
func doctor(unsafeArgs []string) int {
	if len(unsafeArgs) != 0 {
		return say(exitcode.Usage, "socker doctor takes no arguments")
	}
	caller, setuid, err := security.KernelCaller()
	if err != nil {
		return say(exitcode.Config, err.Error())
	}
	var r doctorReport
	cfg := r.install(caller, setuid)
	callerErr := r.caller(&caller, cfg)
	r.cgroups(caller, cfg)
	r.docker(caller, setuid, callerErr)
	if r.failures > 0 {
		fmt.Printf("%d check(s) failed\n", r.failures)
		return exitcode.Config
	}
	return 0
}

// doctorReport prints doctor's checks and counts the failed ones.
type doctorReport struct{ failures int }

// check prints one check: ok with okDetail, or FAIL with err and the fix.
func (r *doctorReport) check(name string, err error, okDetail, fix string) bool {
	if err != nil {
		r.failures++
		fmt.Printf("FAIL %-14s %s\n     %-14s fix: %s\n", name, oneLine(err.Error()), "", fix)
		return false
	}
	fmt.Printf("ok   %-14s %s\n", name, okDetail)
	return true
}

// install checks setuid, the binary, the config and the audit log; it
// returns the config, or nil if it is not valid.
func (r *doctorReport) install(caller security.Caller, setuid bool) *security.Config {
	var setuidErr error
	if !setuid {
		setuidErr = errors.New(security.SetuidProblem("/proc/self/exe"))
	}
	r.check("setuid", setuidErr, "effective uid 0, real uid "+fmt.Sprint(caller.UID),
		"install socker owned by root, mode 4755 (or 4750 root:<group>), on a filesystem without nosuid; no linux/nnp isolator on the Mesos agent")
	r.check("binary", security.CheckBinary("/proc/self/exe"), "owned by root, not writable by group or others",
		"chown root socker && chmod go-w socker")

	cfg, err := security.LoadConfig(build.ConfigPath)
	if !r.check("config", err, build.ConfigPath+" ("+cfgHash(cfg)+")",
		"make "+build.ConfigPath+" and every directory above it owned by root and not writable by group or others, and fix the key it names") {
		cfg = nil
	}
	if cfg != nil {
		profile := "Docker's built-in profile (container.seccomp_profile unset)"
		if cfg.SeccompHash != "" {
			profile = cfg.Container.SeccompProfile + " (" + cfg.SeccompHash + ")"
		}
		r.check("seccomp", nil, profile, "")
	}
	if cfg != nil && setuid {
		a, err := security.OpenAudit(cfg.Audit.Path)
		if r.check("audit log", err, cfg.Audit.Path, "create its directory: install -d -o root -g root -m 0700 <dir>") {
			a.Close()
		}
	} else {
		r.check("audit log", fmt.Errorf("not checked: needs setuid root and a valid config"), "", "fix the checks above")
	}
	return cfg
}

// caller applies the identity policy, as run does before anything reaches
// Docker; its error is the refusal (or why it was not checked).
func (r *doctorReport) caller(caller *security.Caller, cfg *security.Config) error {
	if cfg == nil {
		return fmt.Errorf("not checked: needs a valid config")
	}
	groups, _ := security.GroupIDs("/etc/group", cfg.Users.DenyGroups)
	caller.LookupPasswd("/etc/passwd")
	idErr := security.DecideCaller(security.Policy{Config: cfg, DenyGroups: groups, ConfigPath: build.ConfigPath}, *caller)
	r.check("caller", idErr, fmt.Sprintf("uid %d (%s) may run containers", caller.UID, caller.Name),
		"run socker as an unprivileged user who is in no denied group")
	return idErr
}

// cgroups checks the host's cgroups and the caller's task cgroup.
func (r *doctorReport) cgroups(caller security.Caller, cfg *security.Config) {
	mode, err := cgroup.HostMode()
	r.check("cgroup mode", err, "cgroup "+mode.String(), "mount cgroupfs at /sys/fs/cgroup")
	task, err := cgroup.Self()
	if !r.check("mesos cgroup", err, task.Parent, "run socker (and this check) from inside a Mesos task: agent with --isolation=cgroups/cpu,cgroups/mem") {
		return
	}
	why, err := cgroup.Delegated(cgroup.Root, task, caller.UID)
	detail := "made by a Mesos agent (every directory above the task's own is root's)"
	if err == nil && why != "" {
		detail = "a user could have made it (" + why + "); accepted: cgroups.allow_delegated = true"
		if cfg == nil || !cfg.Cgroups.AllowDelegated {
			err = fmt.Errorf("a user could have made this task cgroup: %s", why)
		}
	}
	r.check("task cgroup", err, detail, "make the agent's --cgroups_root directories root's and not writable by group or others (a Mesos agent chowns only each task's own); cgroups.allow_delegated = true only on one machine")
}

// docker asks the daemon, for a caller the policy allows (or root) only.
func (r *doctorReport) docker(caller security.Caller, setuid bool, callerErr error) {
	switch {
	case !setuid:
		r.check("docker", fmt.Errorf("not checked: needs setuid root to open %s", DockerSocket), "", "fix the setuid check")
	case callerErr != nil && caller.UID != 0: // root has the socket anyway
		r.check("docker", fmt.Errorf("not checked: only a caller the policy allows may reach Docker"), "", "fix the caller check")
	default:
		detail, err := dockerCheck(caller)
		r.check("docker", err, detail, "start dockerd with --exec-opt native.cgroupdriver=cgroupfs and the socket at "+DockerSocket)
	}
}

func cfgHash(c *security.Config) string {
	if c == nil {
		return ""
	}
	return c.Hash
}

// dockerCheck connects as root, enters Docker's side of the node (as run
// does, to stage mounts there), drops root (unless the caller is root), and
// asks the daemon for its version and cgroup driver.
func dockerCheck(caller security.Caller) (string, error) {
	cli, side, closeDocker, err := connectWithSide(2)
	if err != nil {
		return "", err
	}
	defer closeDocker()
	where := "socker's own mount namespace"
	if own, _ := os.Readlink("/proc/self/ns/mnt"); own != side.MountNS {
		where = "mount namespace " + side.MountNS + ", not socker's (" + own + "): mounts are staged there"
	}
	if caller.UID != 0 {
		if err := security.DropPrivileges(caller); err != nil {
			return "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := cli.Info(ctx)
	if err != nil {
		return "", fmt.Errorf("asking the Docker daemon: %w", err)
	}
	if info.CgroupDriver != "cgroupfs" {
		return "", fmt.Errorf("Docker %s uses the %q cgroup driver; socker needs cgroupfs", info.ServerVersion, info.CgroupDriver)
	}
	return fmt.Sprintf("Docker %s, cgroup driver cgroupfs, cgroup v%s, in %s", info.ServerVersion, info.CgroupVersion, where), nil
}
