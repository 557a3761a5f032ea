package wrapper

import (
	"context"
	"fmt"
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
	failures := 0
	check := func(name string, err error, okDetail, fix string) bool {
		if err != nil {
			failures++
			fmt.Printf("FAIL %-14s %s\n     %-14s fix: %s\n", name, oneLine(err.Error()), "", fix)
			return false
		}
		fmt.Printf("ok   %-14s %s\n", name, okDetail)
		return true
	}

	caller, setuid, err := security.KernelCaller()
	if err != nil {
		return say(exitcode.Config, err.Error())
	}
	var setuidErr error
	if !setuid {
		setuidErr = fmt.Errorf("%s", security.SetuidProblem("/proc/self/exe"))
	}
	check("setuid", setuidErr, "effective uid 0, real uid "+fmt.Sprint(caller.UID),
		"install socker owned by root, mode 4755 (or 4750 root:<group>), on a filesystem without nosuid; no linux/nnp isolator on the Mesos agent")
	check("binary", security.CheckBinary("/proc/self/exe"), "owned by root, not writable by group or others",
		"chown root socker && chmod go-w socker")

	cfg, err := security.LoadConfig(build.ConfigPath)
	if !check("config", err, build.ConfigPath+" ("+cfgHash(cfg)+")",
		"make "+build.ConfigPath+" and every directory above it owned by root and not writable by group or others, and fix the key it names") {
		cfg = nil
	}
	if cfg != nil && setuid {
		a, err := security.OpenAudit(cfg.Audit.Path)
		if check("audit log", err, cfg.Audit.Path, "create its directory: install -d -o root -g root -m 0700 <dir>") {
			a.Close()
		}
	} else {
		check("audit log", fmt.Errorf("not checked: needs setuid root and a valid config"), "", "fix the checks above")
	}
	// The identity policy comes before anything reaches Docker, as for run.
	var callerErr error = fmt.Errorf("not checked: needs a valid config")
	if cfg != nil {
		groups, _ := security.GroupIDs("/etc/group", cfg.Users.DenyGroups)
		caller.LookupPasswd("/etc/passwd")
		idErr := security.DecideCaller(security.Policy{Config: cfg, DenyGroups: groups, ConfigPath: build.ConfigPath}, caller)
		check("caller", idErr, fmt.Sprintf("uid %d (%s) may run containers", caller.UID, caller.Name),
			"run socker as an unprivileged user who is in no denied group")
		callerErr = idErr
	}

	mode, err := cgroup.HostMode()
	check("cgroup mode", err, "cgroup "+mode.String(), "mount cgroupfs at /sys/fs/cgroup")
	task, err := cgroup.Self()
	if check("mesos cgroup", err, task.Parent, "run socker (and this check) from inside a Mesos task: agent with --isolation=cgroups/cpu,cgroups/mem") {
		why, err := cgroup.Delegated(cgroup.Root, task, caller.UID)
		detail := "made by a Mesos agent (every directory above the task's own is root's)"
		if err == nil && why != "" {
			detail = "a user could have made it (" + why + "); accepted: cgroups.allow_delegated = true"
			if cfg == nil || !cfg.Cgroups.AllowDelegated {
				err = fmt.Errorf("a user could have made this task cgroup: %s", why)
			}
		}
		check("task cgroup", err, detail, "make the agent's --cgroups_root directories root's and not writable by group or others (a Mesos agent chowns only each task's own); cgroups.allow_delegated = true only on one machine")
	}

	switch {
	case !setuid:
		check("docker", fmt.Errorf("not checked: needs setuid root to open %s", DockerSocket), "", "fix the setuid check")
	case callerErr != nil && caller.UID != 0: // root has the socket anyway
		check("docker", fmt.Errorf("not checked: only a caller the policy allows may reach Docker"), "", "fix the caller check")
	default:
		detail, err := dockerCheck(caller)
		check("docker", err, detail, "start dockerd with --exec-opt native.cgroupdriver=cgroupfs and the socket at "+DockerSocket)
	}
	if failures > 0 {
		fmt.Printf("%d check(s) failed\n", failures)
		return exitcode.Config
	}
	return 0
}

func cfgHash(c *security.Config) string {
	if c == nil {
		return ""
	}
	return c.Hash
}

// dockerCheck connects as root, drops root (unless the caller is root), and
// asks the daemon for its version and cgroup driver.
func dockerCheck(caller security.Caller) (string, error) {
	cli, closeDocker, err := connectAsRoot(2)
	if err != nil {
		return "", err
	}
	defer closeDocker()
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
	return fmt.Sprintf("Docker %s, cgroup driver cgroupfs, cgroup v%s", info.ServerVersion, info.CgroupVersion), nil
}
