package docs

import (
	"fmt"
	"strings"

	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/internal/manual"
)

// The usage lines of socker's commands that take options: errors quote
// them, and socker(8)'s synopsis shows them.
const (
	RunUsage     = "usage: socker run [--mount SRC:DST[:ro]]... [--workdir DIR] [--env NAME=VALUE]... IMAGE [--] COMMAND [ARG...]"
	ExplainUsage = "usage: socker explain [run options] IMAGE [--] COMMAND [ARG...]"
)

// synopsis is a usage line (RunUsage, ExplainUsage) as a synopsis line.
func synopsis(usageLine string) string { return strings.TrimPrefix(usageLine, "usage: ") }

// Socker is socker(8), the one description of socker's commands: `socker
// help` prints its text rendering and internal/mangen writes its roff.
// configPath is the policy file compiled into socker (build.ConfigPath).
func Socker(configPath string) manual.Page {
	return manual.Page{
		Name:    "socker",
		Section: "8",
		Summary: "run a Docker container as yourself, inside your Mesos task's cgroup",
		Synopsis: []string{
			synopsis(RunUsage),
			synopsis(ExplainUsage),
			"socker images",
			"socker doctor",
			"socker gc",
			"socker version",
			"socker help [config]",
		},
		Sections: []manual.Section{
			{Title: "DESCRIPTION", Blocks: []manual.Block{
				manual.P("socker runs a Docker container for the user who calls it, as that user: with the caller's real uid, gid and supplementary groups, taken from the kernel, no capabilities, `no_new_privs` and Docker's default seccomp profile. It creates the container beneath the cgroup Mesos gave the caller's task (read from `/proc/self/cgroup`, never from an argument), so Mesos' limits and accounting hold, and checks after the start that it landed there. It does so only after the site's policy, the root-owned file described in `socker.toml`(5), allows the caller, the image and the mounts; it never pulls an image."),
				manual.P("socker keeps standard input, output and error attached, stops the container when it gets SIGTERM, SIGINT or SIGHUP (as when Mesos kills the task), exits with the container's status, and always removes the container. Every decision is audited: each refusal, start and exit is one JSON line in the audit log, and socker starts nothing it could not audit."),
				manual.P("socker must run inside a Mesos task cgroup: as (part of) the command of a Mesos task on an agent with `--switch_user` and the `cgroups/cpu,cgroups/mem` isolators, and without the `linux/nnp` isolator, which disables setuid binaries. Docker must use the `cgroupfs` cgroup driver."),
			}},
			{Title: "COMMANDS", Blocks: []manual.Block{manual.List(
				manual.Item{Term: "run", Text: "Run COMMAND with its arguments in a new container of IMAGE, as you, and exit with its status. IMAGE must be allowed by the policy (see `socker images`) and present on this node. Options come before IMAGE; everything after IMAGE (after an optional `--`) is the command, passed as is, never interpreted; anything else before IMAGE that starts with `-` is an error. The image's `ENTRYPOINT`, `USER` and `WORKDIR` are not used. Each option takes its value as the next argument or after `=`.",
					Items: []manual.Item{
						{Term: "--mount SRC:DST[:ro]", Text: "Bind the host path SRC at DST in the container; `:ro` makes it read-only. SRC must be absolute, without `..` or any symlink, under a prefix the policy allows (`mounts.allow`), readable by you, and writable by you unless `:ro`. Targets may not nest, nor meet Docker's own /etc/hosts, /etc/hostname, /etc/resolv.conf. Repeatable."},
						{Term: "--workdir DIR", Text: "The working directory in the container. By default, your current directory mapped into the container when it is inside one of your `--mount` sources, else `/`. Inside a mount it must already exist."},
						{Term: "--env NAME=VALUE", Text: "Set a variable in the container. Repeatable. `PATH`, `HOME`, `USER` and `LOGNAME` are set by socker from your identity and cannot be given."},
					}},
				manual.Item{Term: "explain", Text: "Print, as JSON, the exact container spec `socker run` would send to Docker with the same arguments, or why it would refuse. It makes the same checks as run, as the same users, and starts nothing; the explanation or refusal is audited."},
				manual.Item{Term: "images", Text: "List the images the policy lets you run, and whether each is present on this node."},
				manual.Item{Term: "doctor", Text: "Check the installation as you see it (setuid, the binary, the config, the audit log, your identity, the cgroups, Docker) and print one line per check: `ok`, or `FAIL` with the fix. Starts nothing."},
				manual.Item{Term: "gc", Text: "(root only) Remove the containers socker started whose wrapper process or Mesos task is gone, and the empty task cgroups Docker leaves behind in hierarchies Mesos does not manage. Audits each removal; idempotent. `socker-gc.timer` runs it every minute. Takes no arguments."},
				manual.Item{Term: "version", Text: "Print socker's version."},
				manual.Item{Term: "help [config]", Text: "Print this manual; `socker help config` prints the manual of the config file, `socker.toml`(5)."},
			)}},
			{Title: "EXIT STATUS", Blocks: []manual.Block{
				manual.P("When the container ran, socker exits with its status: 128+N if it was killed by signal N (137 for SIGKILL, e.g. the task's memory limit). A signal that stops socker before the container started also gives 128+N. socker's own failures print exactly one line on standard error, which starts with `socker:` and says what was refused and why, and exit with:"),
				manual.List(
					manual.Item{Term: fmt.Sprint(exitcode.Usage), Text: "Usage error: unknown command or option, missing image or command."},
					manual.Item{Term: fmt.Sprint(exitcode.Unavailable), Text: "Docker, the image or the cgroups unavailable: the daemon is down, the image is not on this node, the container did not land in the task cgroup."},
					manual.Item{Term: fmt.Sprint(exitcode.Software), Text: "Internal error."},
					manual.Item{Term: fmt.Sprint(exitcode.Denied), Text: "Refused by policy: root or a denied group, an image or mount not allowed, not inside a Mesos task cgroup (or inside one a user could have made). The message names the config key the site admin would change."},
					manual.Item{Term: fmt.Sprint(exitcode.Config), Text: "Configuration or installation problem: the config unreadable, invalid or not root-owned, setuid not in effect, the audit log unwritable. `socker doctor` says which and how to fix it."},
				),
			}},
			{Title: "FILES", Blocks: []manual.Block{manual.List(
				manual.Item{Term: configPath, Text: "The site policy, `socker.toml`(5). Its path is compiled into socker; nothing at run time can change it."},
				manual.Item{Term: DefaultAuditPath(), Text: "The audit log by default (`audit.path`): one JSON object per line, readable by root only."},
			)}},
			{Title: "ENVIRONMENT", Blocks: []manual.Block{
				manual.P("socker discards its whole environment: the first thing it does is to re-execute itself with none, so no variable (`LD_*`, `GODEBUG`, `DOCKER_HOST`, `HTTP_PROXY`, `TZ`, ...) can influence it. The container gets only the variables given with `--env`, plus `PATH`, `HOME`, `USER` and `LOGNAME`, which socker sets from your identity."),
			}},
			{Title: "SECURITY", Blocks: []manual.Block{
				manual.P("socker is setuid root: the packages install it owned by root, group socker, mode 4750, so that only root and the members of group socker can run it. It uses root only to read its config, open its audit log and connect to Docker, and gives it up for good before it looks at any path you name. It refuses to run if its binary, its config or the audit log's directory could be changed by anyone but root. The container is built from fixed values: no argument becomes a Docker option, and every container runs with no capabilities, `no-new-privileges`, `Privileged=false`, a private IPC namespace, the caller's uid, gid and groups, in the task's cgroup."),
			}},
			{Title: "SEE ALSO", Blocks: []manual.Block{manual.P("`mrun`(1), `socker.toml`(5)")}},
		},
	}
}
