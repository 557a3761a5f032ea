package security

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sockerhpc/socker/cgroup"
)

// Request is what the caller asked for, parsed from argv but not yet trusted.
type Request struct {
	Image   string   // as typed
	Mounts  []string // "SRC:DST[:ro|:rw]"
	Workdir string   // container path, "" for the default
	Env     []string // "NAME=VALUE"
	Command []string
	// Cwd is the caller's working directory from getcwd(2) (never $PWD). If
	// it lies in a mounted source, it becomes the default working directory.
	Cwd string
}

// Mount is one bind mount the policy allowed. Source is a host path that must
// still be opened and checked as the caller (PinSources) before use.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readonly"`
	Site     bool   `json:"site,omitempty"` // from [mounts] site: the admin's, not checked as the caller
}

// Decision is an allowed request with every value the container will get.
type Decision struct {
	Caller    Caller
	Image     string // normalized reference from the allowlist
	Mounts    []Mount
	Workdir   string
	Env       []string
	Command   []string
	Task      cgroup.Task
	Network   string
	PidsLimit int64
	Seccomp   []byte // the profile Docker is given, compacted; nil: Docker's built-in one
}

// Denial is the error of a refused request: every refusal of the policy
// (Decide, DecideCaller, PinSources, ParseMount) is a *Denial,
// found with errors.As. Reason is a stable code for the audit log; Msg is the
// one-line explanation for the caller, naming the rule and who can change
// it.
type Denial struct {
	Reason string
	Msg    string
}

func (d *Denial) Error() string { return d.Msg }

func deny(reason, format string, a ...any) *Denial {
	return &Denial{Reason: reason, Msg: fmt.Sprintf(format, a...)}
}

// Limits on what a caller may send; the Docker request stays small.
const (
	maxRequestBytes = 64 << 10
	maxMounts       = 64
	maxEnv          = 256
)

// Policy is the part of the site config Decide needs, plus the resolved ids of
// the denied groups.
type Policy struct {
	Config     *Config
	DenyGroups map[uint32]string // gid → name
	ConfigPath string            // for messages: which file the admin edits
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are set by socker from the kernel identity.
var reservedEnv = map[string]bool{"PATH": true, "HOME": true, "USER": true, "LOGNAME": true}

// DefaultPath is the PATH every container gets.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DecideCaller is the part of the policy about who the caller is: never root
// (uid 0, gid 0 or group 0), not below users.min_uid, in no denied group. A
// refusal is a *Denial.
func DecideCaller(p Policy, c Caller) error {
	admin := p.admin()
	if c.UID == 0 {
		return deny("uid-root", "refusing to run as root (uid 0): socker runs containers as unprivileged users only")
	}
	if c.GID == 0 {
		return deny("gid-root", "refusing to run with primary group root (gid 0)")
	}
	if c.UID < p.Config.Users.MinUID {
		return deny("uid-below-min", "uid %d is below users.min_uid %d (%s)", c.UID, p.Config.Users.MinUID, admin)
	}
	for _, g := range append([]uint32{c.GID}, c.Groups...) {
		if g == 0 {
			return deny("group-root", "refusing to run for a member of group root (gid 0)")
		}
		if name, ok := p.DenyGroups[g]; ok {
			return deny("group-denied", "members of group %q (gid %d) may not run containers: users.deny_groups (%s)", name, g, admin)
		}
	}
	return nil
}

// admin says, in a denial, who can change the rule.
func (p Policy) admin() string { return "set by the site admin in " + p.ConfigPath }

// Task is the Mesos task cgroup of the caller as read from the kernel: what
// cgroup.Parse made of /proc/self/cgroup (with cgroup.Delegated's finding),
// or the error it gave.
type Task struct {
	cgroup.Task
	Err error
}

// input is what every check reads: the site policy, the caller and the task
// cgroup (from the kernel), and the request (from the caller).
type input struct {
	p    Policy
	c    Caller
	task Task
	req  Request
}

// A check is one rule of the policy. It reads the input and fills in the
// part of the decision it allows; a refusal is a *Denial. Like runc's
// libcontainer/configs/validate, each rule is a small function of its own.
type check func(in input, d *Decision) error

// checks are the rules in the order Decide applies them: the first refusal
// is the answer.
var checks = []check{
	checkCaller,
	checkTask,
	checkRequestShape,
	checkImage,
	checkCommand,
	checkMounts,
	checkWorkdir,
	checkEnv,
}

// Decide is the whole policy: a pure function of the caller (from the
// kernel), the Mesos task cgroup (from the kernel), the request (from the
// caller) and the site policy. It does no I/O. A refusal is a *Denial.
func Decide(p Policy, c Caller, task Task, req Request) (Decision, error) {
	in := input{p: p, c: c, task: task, req: req}
	var d Decision
	for _, chk := range checks {
		if err := chk(in, &d); err != nil {
			return Decision{}, err
		}
	}
	return d, nil
}

func checkCaller(in input, d *Decision) error {
	d.Caller = in.c
	return DecideCaller(in.p, in.c)
}

// checkTask requires a Mesos task cgroup that a Mesos agent made (or,
// with cgroups.allow_delegated, one a user could have made).
func checkTask(in input, d *Decision) error {
	t := in.task
	switch {
	case t.Err != nil && !errors.Is(t.Err, cgroup.ErrNotMesos):
		return deny("cgroup-invalid", "refusing to run: %v", t.Err)
	case t.Err != nil || t.Parent == "":
		return deny("not-in-mesos-cgroup", "not inside a Mesos task cgroup: socker runs only as part of a Mesos task")
	case t.Delegated != "" && !in.p.Config.Cgroups.AllowDelegated:
		return deny("cgroup-delegated", "task cgroup %s may be a user's, not a Mesos agent's: %s; cgroups.allow_delegated is off (%s)", t.Parent, t.Delegated, in.p.admin())
	}
	d.Task = t.Task
	return nil
}

// checkRequestShape bounds the request and requires valid UTF-8.
func checkRequestShape(in input, _ *Decision) error {
	req := in.req
	if !utf8.ValidString(req.Workdir) {
		return deny("invalid-utf8", "argument %q is not valid UTF-8", req.Workdir)
	}
	size := len(req.Image) + len(req.Workdir)
	for _, s := range slices.Concat(req.Mounts, req.Env, req.Command) {
		size += len(s) + 1
		if !utf8.ValidString(s) {
			return deny("invalid-utf8", "argument %q is not valid UTF-8", s)
		}
	}
	if size > maxRequestBytes || len(req.Mounts) > maxMounts || len(req.Env) > maxEnv {
		return deny("request-too-large", "request too large (limits: %d bytes, %d mounts, %d variables)", maxRequestBytes, maxMounts, maxEnv)
	}
	return nil
}

// checkImage requires an image of images.allow, compared normalized.
func checkImage(in input, d *Decision) error {
	image, err := NormalizeImage(in.req.Image)
	if err != nil {
		return deny("image-invalid", "%v", err)
	}
	if !slices.Contains(in.p.Config.Images.Allow, image) {
		return deny("image-not-allowed", "image %q is not allowed: images.allow (%s)", image, in.p.admin())
	}
	d.Image = image
	d.Network = in.p.Config.Container.Network
	d.PidsLimit = in.p.Config.Container.PidsLimit
	d.Seccomp = in.p.Config.Seccomp
	return nil
}

func checkCommand(in input, d *Decision) error {
	if len(in.req.Command) == 0 {
		return deny("no-command", "no command given")
	}
	d.Command = in.req.Command
	return nil
}

// checkMounts puts the site's mounts first, then each user mount the
// policy allows.
func checkMounts(in input, d *Decision) error {
	d.Mounts = append(d.Mounts, in.p.Config.SiteMounts...)
	for _, m := range in.req.Mounts {
		mnt, err := decideMount(in.p, m)
		if err != nil {
			return err
		}
		if err := decideTarget(mnt.Target, d.Mounts); err != nil {
			return err
		}
		d.Mounts = append(d.Mounts, mnt)
	}
	return nil
}

// checkWorkdir takes --workdir, or the caller's cwd mapped into a mount
// (see defaultWorkdir).
func checkWorkdir(in input, d *Decision) error {
	if in.req.Workdir == "" {
		d.Workdir = defaultWorkdir(in.req.Cwd, d.Mounts)
		return nil
	}
	if !containerPath(in.req.Workdir) {
		return deny("workdir-invalid", "working directory %q must be an absolute, clean path outside /proc, /sys and /dev", in.req.Workdir)
	}
	d.Workdir = in.req.Workdir
	return nil
}

// checkEnv sets PATH, HOME, USER and LOGNAME from the caller's identity,
// then adds each --env variable, none of those four and none twice.
func checkEnv(in input, d *Decision) error {
	c := in.c
	user := c.Name
	if user == "" {
		user = strconv.FormatUint(uint64(c.UID), 10)
	}
	home := c.Home
	if !filepath.IsAbs(home) {
		home = "/"
	}
	d.Env = []string{"PATH=" + DefaultPath, "HOME=" + home, "USER=" + user, "LOGNAME=" + user}
	seen := map[string]bool{}
	for _, kv := range in.req.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || !envName.MatchString(name) {
			return deny("env-invalid", "environment variable %q must be NAME=VALUE with NAME made of letters, digits and _", kv)
		}
		if reservedEnv[name] {
			return deny("env-reserved", "%s is set by socker from your identity and cannot be given with --env", name)
		}
		if seen[name] {
			return deny("env-twice", "environment variable %s given twice", name)
		}
		seen[name] = true
		d.Env = append(d.Env, kv)
	}
	return nil
}

// defaultWorkdir maps the caller's cwd into the container when it lies in a
// user-mounted source (the last such mount wins, as the later mount covers
// the earlier one), else "/".
func defaultWorkdir(unsafeCwd string, mounts []Mount) string {
	if !filepath.IsAbs(unsafeCwd) || filepath.Clean(unsafeCwd) != unsafeCwd || !utf8.ValidString(unsafeCwd) {
		return "/"
	}
	wd := "/"
	for _, m := range mounts {
		if m.Site || !underAny(unsafeCwd, []string{m.Source}) {
			continue
		}
		if w := filepath.Join(m.Target, strings.TrimPrefix(unsafeCwd, m.Source)); containerPath(w) {
			wd = w
		}
	}
	return wd
}

// ParseMount parses "SRC:DST[:ro|:rw]" and checks its shape: absolute, clean
// paths without ',' or control characters, a target other than / and outside
// /proc, /sys and /dev. It does not apply the allowlist. Its error is a
// *Denial whose reason says which part is wrong.
func ParseMount(unsafeSpec string) (Mount, error) {
	parts := strings.Split(unsafeSpec, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Mount{}, deny("mount-invalid", "mount %q must be SRC:DST or SRC:DST:ro", unsafeSpec)
	}
	m := Mount{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			m.ReadOnly = true
		case "rw":
		default:
			return Mount{}, deny("mount-invalid", "mount %q: option must be ro or rw", unsafeSpec)
		}
	}
	if !filepath.IsAbs(m.Source) || filepath.Clean(m.Source) != m.Source || strings.ContainsFunc(m.Source, badPathRune) {
		return Mount{}, deny("mount-source-invalid", "mount source %q must be an absolute, clean path without ',' or control characters", m.Source)
	}
	if m.Target == "/" || !containerPath(m.Target) || strings.ContainsFunc(m.Target, badPathRune) {
		return Mount{}, deny("mount-target-invalid", "mount target %q must be an absolute, clean path other than / and outside /proc, /sys and /dev", m.Target)
	}
	return m, nil
}

func badPathRune(r rune) bool { return r == ',' || r < 0x20 || r == 0x7f }

// DockerSocket is the only Docker endpoint socker talks to. It is fixed:
// DOCKER_HOST and friends are never read (no client.FromEnv).
const DockerSocket = "/var/run/docker.sock"

// DockerSockets are the paths of the Docker socket (DockerSocket, and the
// same socket through /run), never mountable.
var DockerSockets = []string{DockerSocket, "/run/docker.sock"}

// protectedSource reports why src may never be bound, or "" if it may:
// kernel filesystems, the Docker socket, socker's config and audit
// directories, and any directory that contains one of them.
func protectedSource(p Policy, src string) string {
	for _, k := range []string{"/proc", "/sys", "/dev"} {
		if underAny(src, []string{k}) {
			return k + " is never mounted"
		}
	}
	sensitive := append(slices.Clone(DockerSockets), filepath.Dir(p.ConfigPath), filepath.Dir(p.Config.Audit.Path))
	for _, s := range sensitive {
		if underAny(src, []string{s}) || underAny(s, []string{src}) {
			return "it is or contains " + s
		}
	}
	return ""
}

func decideMount(p Policy, unsafeSpec string) (Mount, error) {
	m, err := ParseMount(unsafeSpec)
	if err != nil {
		return Mount{}, err
	}
	if why := protectedSource(p, m.Source); why != "" {
		return Mount{}, deny("mount-source-protected", "mount source %q is refused: %s", m.Source, why)
	}
	if !underAny(m.Source, p.Config.Mounts.Allow) {
		return Mount{}, deny("mount-not-allowed", "mount source %q is not under an allowed prefix %v: mounts.allow (%s)", m.Source, p.Config.Mounts.Allow, p.admin())
	}
	return m, nil
}

// dockerTargets are the paths Docker mounts in every container socker
// creates, whatever the request: its own /etc/hosts, /etc/hostname and
// /etc/resolv.conf (with network "none" too) and docker-init (Init is always
// on) at /sbin/docker-init, which lands at /usr/sbin/docker-init in an image
// whose /sbin is a symlink to usr/sbin (merged /usr).
var dockerTargets = []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sbin/docker-init", "/usr/sbin/docker-init"}

// decideTarget refuses a user mount target that would make runc, which
// mounts as root, create a mount point inside a host directory: a target
// inside or around an earlier mount's (runc creates the inner mount point in
// the outer mount's source), or one that is, is inside or contains one of
// Docker's own mounts. A target given twice is refused as such.
func decideTarget(target string, earlier []Mount) error {
	nested := func(inner, outer string) error {
		return deny("mount-nested", "mount target %q is inside mount target %q: nested mounts are refused, as Docker would create the inner mount point as root in the outer mount's source; use targets side by side", inner, outer)
	}
	for _, o := range earlier {
		switch {
		case target == o.Target:
			return deny("mount-target-twice", "mount target %q given twice", target)
		case underAny(target, []string{o.Target}):
			return nested(target, o.Target)
		case underAny(o.Target, []string{target}):
			return nested(o.Target, target)
		}
	}
	for _, t := range dockerTargets {
		if underAny(target, []string{t}) || underAny(t, []string{target}) {
			return deny("mount-target-reserved", "mount target %q is refused: it is, is inside or contains %s, which Docker mounts itself in every container", target, t)
		}
	}
	return nil
}

// mountFor returns the index of the mount whose target holds the container
// path p (the deepest one: Docker mounts it last, on top) and p relative to
// that target ("." for the target itself); ok is false when p is in no
// mount.
func mountFor(p string, mounts []Mount) (i int, rel string, ok bool) {
	for j, c := range mounts {
		if underAny(p, []string{c.Target}) && (!ok || len(c.Target) > len(mounts[i].Target)) {
			i, ok = j, true
		}
	}
	if !ok {
		return 0, "", false
	}
	if rel = strings.TrimPrefix(strings.TrimPrefix(p, mounts[i].Target), "/"); rel == "" {
		rel = "."
	}
	return i, rel, true
}

// underAny reports whether path is one of the prefixes or beneath one,
// comparing whole path components ("/scratchy" is not under "/scratch").
func underAny(path string, prefixes []string) bool {
	for _, pre := range prefixes {
		if path == pre || pre == "/" || strings.HasPrefix(path, pre+"/") {
			return true
		}
	}
	return false
}

// containerPath reports whether p is an acceptable path inside the container.
func containerPath(p string) bool {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return false
	}
	for _, bad := range []string{"/proc", "/sys", "/dev"} {
		if p == bad || strings.HasPrefix(p, bad+"/") {
			return false
		}
	}
	return true
}
