package main

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/security"
	"github.com/sockerhpc/socker/test/bench/internal/benchutil"
	"github.com/sockerhpc/socker/wrapper"
)

const (
	minRuns   = 20
	warmups   = 2
	memLimit  = 512 << 20 // the task cgroup's memory limit
	pidsLimit = 4096      // container.pids_limit in the config, and --pids-limit
	userName  = "sockb-user"
	groupName = "sockb-g1"
)

func main() {
	image := flag.String("image", "socker-test/tiny:1", "image to run (it must exist locally; nothing is pulled)")
	n := flag.Int("n", 25, fmt.Sprintf("measured runs per side (at least %d)", minRuns))
	flag.Parse()
	if flag.NArg() != 0 {
		fail(fmt.Errorf("unexpected arguments %q (usage: bench [-image IMAGE] [-n RUNS])", flag.Args()))
	}
	if *n < minRuns {
		fail(fmt.Errorf("-n %d is too few: at least %d runs per side are needed for a p90", *n, minRuns))
	}
	// A signal stops the benchmark between two runs, so the cleanup still runs.
	ctx, stop := benchutil.Interruptible()
	defer stop()
	report, err := bench(ctx, *image, *n)
	if err != nil {
		stop()
		fail(err)
	}
	fmt.Print(report)
}

// fail prints err on one line and exits 1.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench: "+oneLine(err.Error()))
	os.Exit(1)
}

// oneLine joins the lines of s (a command's stderr, say) with " | ".
func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}

// bench sets up the fixture, runs both sides and cleans up (also on error).
// It returns the report, printed only if everything, the leftover check and
// the cleanup included, succeeded.
func bench(ctx context.Context, image string, n int) (report string, err error) {
	if err := testutil.Prerequisites(image); err != nil {
		return "", fmt.Errorf("prerequisites: %w", err)
	}
	versions, err := dockerVersions()
	if err != nil {
		return "", err
	}
	imageRef, err := security.NormalizeImage(image)
	if err != nil {
		return "", err
	}

	in, err := benchutil.Install("socker-bench-", benchutil.Config{Image: image, Network: "none", PidsLimit: pidsLimit})
	if err != nil {
		return "", err
	}
	defer func() {
		if rmErr := in.Close(); rmErr != nil && err == nil {
			err = fmt.Errorf("removing the install: %w", rmErr)
		}
	}()
	dir, socker, auditPath := in.Dir, in.Socker, in.AuditPath
	// The toolchain make used to build socker, from the binary's build info.
	info, err := buildinfo.ReadFile(socker)
	if err != nil {
		return "", fmt.Errorf("reading build info of %s: %w", socker, err)
	}
	sockerGo := info.GoVersion
	user, err := testutil.EnsureUser(userName, groupName)
	if err != nil {
		return "", err
	}
	tc, err := testutil.NewTaskCgroup(memLimit)
	if err != nil {
		return "", err
	}
	defer func() {
		// Containers must be gone before the task cgroup can be removed.
		left, lsErr := leftovers(tc.ID)
		switch {
		case lsErr != nil && err == nil:
			err = lsErr
		case len(left) > 0:
			rmOut, _ := exec.Command("docker", append([]string{"rm", "-f"}, left...)...).CombinedOutput()
			msg := fmt.Sprintf("%d container(s) left behind with label %s=%s: %s (force-removed: %s)",
				len(left), wrapper.LabelMesosID, tc.ID, strings.Join(left, " "), oneLine(string(rmOut)))
			if err == nil {
				err = errors.New(msg)
			} else {
				err = fmt.Errorf("%w; also %s", err, msg)
			}
		}
		if clErr := tc.Close(); clErr != nil && err == nil {
			err = fmt.Errorf("removing task cgroup %s: %w", tc.Path, clErr)
		}
	}()

	l, err := newLauncher(dir)
	if err != nil {
		return "", err
	}
	defer l.out.Close()

	a := func() *exec.Cmd { return tc.Command(&user, socker, "run", image, "true") }
	dockerArgs := dockerRunArgs(user, tc, imageRef, image)
	b := func() *exec.Cmd { return tc.Command(nil, dockerArgs...) }

	for i := 0; i < warmups; i++ {
		if _, err := l.timed(ctx, "socker run (warm-up)", a()); err != nil {
			return "", err
		}
		if _, err := l.timed(ctx, "docker run --rm (warm-up)", b()); err != nil {
			return "", err
		}
	}
	// The docker side must add exactly the groups socker added: socker takes
	// them from getgroups(2) after setpriv --init-groups and audits them.
	if err := checkGroups(auditPath, user); err != nil {
		return "", err
	}

	// The sh+setpriv floor of side A's Maxrss: the same launcher, exec'ing
	// true instead of socker.
	floor, err := l.timed(ctx, "sh+setpriv floor", tc.Command(&user, "true"))
	if err != nil {
		return "", err
	}

	var timeA, timeB []time.Duration
	var rssA []int64
	for i := 0; i < n; i++ {
		ra, err := l.timed(ctx, "socker run", a())
		if err != nil {
			return "", err
		}
		rb, err := l.timed(ctx, "docker run --rm", b())
		if err != nil {
			return "", err
		}
		timeA, timeB = append(timeA, ra.wall), append(timeB, rb.wall)
		rssA = append(rssA, ra.maxRSS)
	}

	var r strings.Builder
	mA, mB := median(timeA), median(timeB)
	fmt.Fprintf(&r, "launch benchmark: socker run vs docker run --rm (same user, cgroup parent, hardening), %d alternating runs each\n", n)
	fmt.Fprintf(&r, "socker run      median %.1f ms  p90 %.1f ms\n", ms(mA), ms(p90(timeA)))
	fmt.Fprintf(&r, "docker run --rm median %.1f ms  p90 %.1f ms\n", ms(mB), ms(p90(timeB)))
	fmt.Fprintf(&r, "ratio socker/docker (median): %.2f\n", float64(mA)/float64(mB))
	fmt.Fprintf(&r, "socker peak RSS: max %.1f MiB, median %.1f MiB (sh+setpriv floor %.1f MiB)\n",
		mib(slices.Max(rssA)), mib(median(rssA)), mib(floor.maxRSS))
	fmt.Fprintf(&r, "docker server %s (CLI %s), socker built with %s, bench %s %s/%s\n",
		versions[0], versions[1], sockerGo, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return r.String(), nil
}

// dockerRunArgs is the docker CLI command that reproduces wrapper.Spec for
// `socker run IMAGE true` by user in tc. Differences the CLI imposes:
//   - The image is given by name; socker resolves it first (ImageInspect) and
//     creates the container from the image ID, so a re-tag cannot swap it.
//   - --entrypoint "" sends Entrypoint [""], socker sends []: both reset the
//     image's entrypoint.
//   - --rm is the daemon's AutoRemove and the CLI waits for the removal;
//     socker waits for the exit, then removes the container itself (force).
//   - socker also checks the container's cgroup placement (pidfd) and writes
//     two audit records; the docker CLI does neither.
//   - socker's wrapper-pid label is left out: there is no wrapper.
//
// The other labels are socker's, so the leftover check covers both sides.
// Side B runs the docker CLI as root, entering the task cgroup through the
// same sh as side A but without setpriv (one exec, about 2 ms here).
func dockerRunArgs(user testutil.User, tc *testutil.TaskCgroup, imageRef, image string) []string {
	uid := strconv.FormatUint(uint64(user.UID), 10)
	gid := strconv.FormatUint(uint64(user.GID), 10)
	c := security.Caller{UID: user.UID}
	c.LookupPasswd("/etc/passwd")
	name, home := c.Name, c.Home
	if name == "" {
		name = uid
	}
	if !filepath.IsAbs(home) {
		home = "/"
	}
	args := []string{"docker", "run", "--rm",
		"--interactive", // AttachStdin, OpenStdin, StdinOnce (stdin is /dev/null on both sides)
		"--user", uid + ":" + gid,
	}
	// socker adds every group getgroups(2) returns after setpriv
	// --init-groups: the supplementary groups plus the primary group, which
	// is what id -G lists (checkGroups verifies this against the audit log).
	for _, g := range user.Groups {
		args = append(args, "--group-add", strconv.FormatUint(uint64(g), 10))
	}
	args = append(args,
		"--cap-drop", "ALL",
		"--security-opt", "no-new-privileges:true",
		"--init",
		"--pids-limit", strconv.Itoa(pidsLimit),
		"--network", "none",
		"--ipc", "private",
		"--log-driver", "none",
		"--cgroup-parent", tc.Path,
		"--workdir", "/",
		"--entrypoint", "",
		// The environment socker sets from the caller's identity.
		"--env", "PATH="+security.DefaultPath,
		"--env", "HOME="+home,
		"--env", "USER="+name,
		"--env", "LOGNAME="+name,
		"--label", wrapper.LabelUID+"="+uid,
		"--label", wrapper.LabelGID+"="+gid,
		"--label", wrapper.LabelUser+"="+name,
		"--label", wrapper.LabelCgroup+"="+tc.Path,
		"--label", wrapper.LabelMesosID+"="+tc.ID,
		"--label", wrapper.LabelImage+"="+imageRef,
		image, "true",
	)
	return args
}

// result is one timed command.
type result struct {
	wall   time.Duration // from starting the shim to reaping the command
	maxRSS int64         // KiB
}

// launcher starts each measured command from a small sh and waits for it
// itself, as its child subreaper.
//
// Why not wait for cmd directly: Go starts a child with clone(CLONE_VM|
// CLONE_VFORK), so until the child execs, its memory is the parent's, and at
// exec the kernel folds that memory's high-water mark into the child's
// ru_maxrss. A command started by this benchmark would report at least the
// benchmark's own peak RSS (about 10 MiB, as much as socker's). Started by a
// small sh instead (about 1 MiB), whose child is handed to us when that sh
// exits, the command's ru_maxrss is its own. Both sides go through the same
// shim, which adds a sh start (about 2 ms here) to each run's wall time. As
// an asynchronous command of a non-interactive sh, the command starts with
// SIGINT and SIGQUIT ignored, so a ^C lets the run in progress finish.
type launcher struct {
	out *os.File // the command's stdout and stderr
}

func newLauncher(dir string) (*launcher, error) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		return nil, err
	}
	return &launcher{out: out}, nil
}

// timed runs cmd (its Args; cmd itself is not started), which must exit 0,
// and returns its wall time and peak RSS.
//
// The peak RSS is cmd's ru_maxrss. Side A's process is sh (entering the task
// cgroup), which execs setpriv, which execs socker: one process, three
// images. The kernel keeps the high-water mark across exec, and none of them
// forks (echo is a sh builtin), so Maxrss is the maximum over sh, setpriv and
// socker, and socker dominates it: the "sh+setpriv floor", the same launcher
// exec'ing true instead of socker, shows what the launcher alone accounts for.
func (l *launcher) timed(ctx context.Context, what string, cmd *exec.Cmd) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, fmt.Errorf("interrupted before %s", what)
	}
	if err := l.out.Truncate(0); err != nil {
		return result{}, err
	}
	// The shim prints the pid of its background child (stdin /dev/null, as
	// for a command started from Go) and exits; the child is reparented to
	// this process, the subreaper, before the shim's exit is reported.
	shim := exec.Command("/bin/sh", append([]string{"-c", `"$@" >&2 & echo $!`, "sh"}, cmd.Args...)...)
	shim.Env = cmd.Env
	shim.Stderr = l.out
	start := time.Now()
	pidText, err := shim.Output()
	if err != nil {
		return result{}, fmt.Errorf("%s: starting: %v: %s", what, err, l.output())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err != nil {
		return result{}, fmt.Errorf("%s: the shim printed %q, not a pid", what, pidText)
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("%s: wait4(%d): %w", what, pid, err)
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		status := fmt.Sprintf("exit status %d", ws.ExitStatus())
		if ws.Signaled() {
			status = "killed by " + ws.Signal().String()
		}
		return result{}, fmt.Errorf("%s failed (%s): %s", what, status, l.output())
	}
	return result{wall: wall, maxRSS: ru.Maxrss}, nil
}

// output returns what the last command wrote.
func (l *launcher) output() string {
	data, _ := os.ReadFile(l.out.Name())
	if strings.TrimSpace(string(data)) == "" {
		return "(no output)"
	}
	return string(data)
}

// checkGroups checks that the groups socker audited for its last start equal
// user.Groups as a set.
func checkGroups(auditPath string, user testutil.User) error {
	data, err := os.ReadFile(auditPath)
	if err != nil {
		return err
	}
	var last *security.Record
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r security.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("audit line is not JSON: %q", line)
		}
		if r.Event == "start" {
			last = &r
		}
	}
	if last == nil {
		return fmt.Errorf("no start record in %s", auditPath)
	}
	set := func(gs []uint32) []uint32 { return slices.Compact(slices.Sorted(slices.Values(gs))) }
	if got, want := set(last.Groups), set(user.Groups); !slices.Equal(got, want) {
		return fmt.Errorf("socker added groups %v, the docker side adds %v: the sides differ", got, want)
	}
	return nil
}

// leftovers lists the containers, running or not, labelled with the task's
// Mesos container id.
func leftovers(mesosID string) ([]string, error) {
	out, err := exec.Command("docker", "ps", "-aq", "--no-trunc", "--filter", "label="+wrapper.LabelMesosID+"="+mesosID).Output()
	if err != nil {
		return nil, fmt.Errorf("docker ps: %w", err)
	}
	return strings.Fields(string(out)), nil
}

// dockerVersions returns the Docker server and client versions.
func dockerVersions() ([2]string, error) {
	var v [2]string
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}} {{.Client.Version}}").CombinedOutput()
	f := strings.Fields(string(out))
	if err != nil || len(f) != 2 {
		return v, fmt.Errorf("docker version: %v: %s", err, out)
	}
	copy(v[:], f)
	return v, nil
}

// median of xs (the mean of the middle two for an even count).
func median[T time.Duration | int64](xs []T) T {
	s := slices.Sorted(slices.Values(xs))
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// p90 is the nearest-rank 90th percentile: the smallest value with at least
// 90% of the samples at or below it.
func p90(xs []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(xs))
	k := (len(s)*9 + 9) / 10 // ceil(0.9 n)
	return s[k-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(kib int64) float64 { return float64(kib) / 1024 }
