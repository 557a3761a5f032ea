package docs

import (
	"strconv"
	"strings"

	"github.com/sockerhpc/socker/internal/manual"
)

// KeyDoc documents one key of the config file.
type KeyDoc struct {
	Key     string // "section.key", as in the file
	Default string // the value DefaultConfig gives, in TOML syntax
	Meaning string // prose; `backquoted` spans are literal
}

// ConfigKeys documents every key of security.Config, in the order of its
// fields. It is the one source of `socker help config`, socker.toml(5) and
// the table in docs/admin.md; a test fails when it misses a key, lists one
// Config does not have, or states a default security.DefaultConfig does not
// give.
var ConfigKeys = []KeyDoc{
	{"images.allow", `[]`, "Images users may run. Each entry is normalized as Docker does (`ubuntu` = `docker.io/library/ubuntu:latest`) and a request must match an entry exactly; `name@sha256:<digest>` allows only that digest; a full image ID (`sha256:<64 hex>`) may be listed and is then the only way to name that image by ID (short IDs never match). The container is created from the image ID socker resolved, so re-tagging during a launch cannot swap the image. socker never pulls: an allowed image must already be on the node."},
	{"mounts.allow", `[]`, "Host path prefixes users may bind. Compared by whole path components (`/scratch` allows `/scratch/u1`, not `/scratchy`). A source must exist, contain no symlink, be a directory or regular file readable by the caller, and writable by the caller when mounted read-write (checked as the caller), and is never `/proc`, `/sys`, `/dev`, the Docker socket, socker's config or audit directory, or a directory containing one of them. Mounts use the structured `Mounts` API with private propagation, non-recursive."},
	{"mounts.site", `[]`, "Mounts (`SRC:DST[:ro]`) the admin adds to every container, e.g. `\"/etc/passwd:/etc/passwd:ro\"` so user names resolve inside. Users cannot mount over their targets."},
	{"users.min_uid", `1000`, "Callers with a lower uid are refused. uid 0 and gid 0 are always refused."},
	{"users.deny_groups", `["docker", "sudo", "wheel", "disk", "adm", "shadow"]`, "Callers who are members of any of these groups (names or numeric gids) are refused. Names are looked up in `/etc/group` only (socker does no NSS lookups): list groups that come from LDAP/SSSD by numeric gid. Names not found are ignored."},
	{"container.network", `"none"`, "`none`, or `host` for MPI jobs. Nothing else (no bridge, no other container's namespace)."},
	{"container.pids_limit", `4096`, "Docker `PidsLimit` of every container."},
	{"container.stop_grace_seconds", `10`, "When socker gets SIGTERM, SIGINT or SIGHUP it stops the container: SIGTERM, then SIGKILL after this many seconds (0 to 3600). A second signal kills at once."},
	{"container.seccomp_profile", `""`, "A Docker seccomp profile (JSON) given to every container instead of the Docker daemon's built-in one; `\"\"` keeps the built-in one. The file must be a regular file owned by root and not writable by group or others, in directories that are too, and its `defaultAction` must deny (`SCMP_ACT_ERRNO`, `SCMP_ACT_KILL`, `SCMP_ACT_KILL_PROCESS`, `SCMP_ACT_KILL_THREAD`, `SCMP_ACT_TRAP`); its sha256 is in every audit record (`seccomp_hash`). The package installs `/etc/socker/seccomp.json`, Moby's current default profile, which allows cross-memory attach (`process_vm_readv`, `process_vm_writev`) as it allows `ptrace`: MPI's single-copy transfers between ranks of one container, which Docker 20.10's built-in profile denies (large messages at a third to a half of native shared-memory bandwidth). SECURITY.md, \"Seccomp and cross-memory attach\", says why that reaches no process outside the container."},
	{"cgroups.allow_delegated", `false`, "Accept a task cgroup a user could have made without Mesos: one beneath a directory that a user owns or that group or others can write, such as the subtree `mrun --setup-local` gives a user for the local Mesos. A Mesos agent makes every directory above a task's own as root; with `--switch_user` it chowns the task's own directory to the task's user, which socker accepts without this key. Only for `mrun --master local` on one machine."},
	{"audit.path", `"/var/log/socker/audit.log"`, "Audit log (created 0600 root; its directory must exist, owned by root and not writable by group or others). If a record cannot be written, nothing starts."},
}

// ConfigIntro is what socker.toml(5) says of the file before its keys:
// paragraphs, `backquoted` spans literal.
var ConfigIntro = []string{
	"socker reads its site policy from one file, whose path is compiled into the binary: no flag or environment variable can name another. Whoever can write that file decides who gets root-equivalent Docker access, so it must be a regular file (not a symlink) owned by root and not writable by group or others, and so must every directory above it and the socker binary itself; the audit log's directory must be root-owned and not group- or world-writable. socker refuses to run otherwise (exit 78, naming the file and the rule); `socker doctor` checks all of this.",
	"The file is TOML. An unknown key is an error, so a typo never widens access. A key left out takes its default, which is the conservative choice: no image and no mount is allowed until the admin lists it.",
}

// ConfigExample is an example config, shown in socker.toml(5); a test
// checks that security.ParseConfig accepts it.
const ConfigExample = `[images]
# exact normalized references; "repo@sha256:..." pins a digest
allow = ["socker-test/tiny:1"]
[mounts]
# host path prefixes users may bind (whole path components)
allow = ["/scratch", "/home"]
site = ["/etc/passwd:/etc/passwd:ro", "/etc/group:/etc/group:ro"]
[users]
min_uid = 1000
deny_groups = ["docker", "sudo", "wheel", "disk", "adm", "shadow"]
[container]
network = "none"  # or "host" for MPI jobs
pids_limit = 4096
stop_grace_seconds = 10
# Moby's current default profile (allows MPI's cross-memory attach)
seccomp_profile = "/etc/socker/seccomp.json"
[cgroups]
# true only on one machine (mrun --master local)
allow_delegated = false
[audit]
path = "/var/log/socker/audit.log"`

// DefaultAuditPath is the audit log's path when the config names none, as
// ConfigKeys states it.
func DefaultAuditPath() string {
	for _, k := range ConfigKeys {
		if k.Key == "audit.path" {
			p, _ := strconv.Unquote(k.Default)
			return p
		}
	}
	return ""
}

// SockerConfig is socker.toml(5): `socker help config` prints its text
// rendering and internal/mangen writes its roff. Its content is ConfigIntro,
// ConfigKeys and ConfigExample; configPath is the policy file compiled into
// socker.
func SockerConfig(configPath string) manual.Page {
	var intro []manual.Block
	for _, p := range ConfigIntro {
		intro = append(intro, manual.P(p))
	}
	var keys []manual.Item
	for _, k := range ConfigKeys {
		keys = append(keys, manual.Item{Term: k.Key + " = " + k.Default, Text: k.Meaning})
	}
	return manual.Page{
		Name:     "socker.toml",
		Section:  "5",
		Summary:  "the site policy of socker",
		Synopsis: []string{configPath},
		Sections: []manual.Section{
			{Title: "DESCRIPTION", Blocks: intro},
			{Title: "KEYS", Blocks: []manual.Block{
				manual.P("Each key is shown with its default, as TOML; `users.min_uid = 1000` means `min_uid = 1000` in section `[users]`."),
				manual.List(keys...),
			}},
			{Title: "EXAMPLE", Blocks: []manual.Block{manual.Code(strings.Split(ConfigExample, "\n")...)}},
			{Title: "SEE ALSO", Blocks: []manual.Block{manual.P("`socker`(8), `mrun`(1)")}},
		},
	}
}
