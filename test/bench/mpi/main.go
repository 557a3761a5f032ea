package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/sched/localmesos"
	"github.com/sockerhpc/socker/test/bench/internal/benchutil"
)

const (
	userName  = "sockb-user"
	groupName = "sockb-g1"
	memLimit  = 512 << 20 // each task cgroup's memory limit
)

// parts are the benchmark's parts, in the order they run (-only).
var parts = []string{"a", "b", "c", "hello"}

func main() {
	image := flag.String("image", "socker/mpich:4", "the MPI image (make mpi-image)")
	n := flag.Int("n", 10, "measured runs of each variant of (c) and of hello")
	pn := flag.Int("pn", 5, "measured runs of each mpi-perf variant, (a) and (b)")
	perfTime := flag.Float64("time", 0.2, "mpi-perf's target time per message size, in seconds")
	only := flag.String("only", strings.Join(parts, ","), "the parts to run, comma-separated: "+strings.Join(parts, ", "))
	flag.Parse()
	bad := flag.NArg() != 0 || *n < 1 || *pn < 1 || !(*perfTime > 0 && *perfTime <= 60)
	run := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		run[p] = true
		bad = bad || !slices.Contains(parts, p)
	}
	if bad {
		fmt.Fprintln(os.Stderr, "usage: mpi [-image IMAGE] [-n RUNS] [-pn RUNS] [-time SECONDS] [-only a,b,c,hello]")
		os.Exit(2)
	}
	ctx, stop := benchutil.Interruptible()
	defer stop()
	b := &bench{image: *image, n: *n, pn: *pn, perfTime: strconv.FormatFloat(*perfTime, 'g', -1, 64)}
	if err := b.run(ctx, os.Stdout, run); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "bench mpi: "+err.Error())
		os.Exit(1)
	}
}

type bench struct {
	image    string
	n, pn    int
	perfTime string // mpi-perf's argument
	dir      string // temporary: the native programs and mrun in dir/bin
	// socker has container.seccomp_profile set to the packaged profile
	// (what sites install); sockerDockerSeccomp has no such key, so Docker
	// applies its built-in default profile.
	socker, sockerDockerSeccomp string
	mpiexec, proxy              string
	mrun                        string
	user                        testutil.User
	hosts                       [2]string
	env                         []string
}

// result is one run of a variant: its wall time and mpiexec's (or mrun's)
// output.
type result struct {
	wall        time.Duration
	out, stderr string
}

type variant struct {
	name string
	run  func() (result, error)
}

// interleave runs every variant once per round, one warm-up round first
// (not kept), then runs rounds, and returns the results by variant. check,
// if set, is applied to every result.
func interleave(runs int, vs []variant, check func(result) error) ([][]result, error) {
	res := make([][]result, len(vs))
	for i := -1; i < runs; i++ {
		for v, vr := range vs {
			r, err := vr.run()
			if err == nil && check != nil {
				err = check(r)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", vr.name, err)
			}
			if i >= 0 {
				res[v] = append(res[v], r)
			}
		}
	}
	return res, nil
}

func (b *bench) run(ctx context.Context, w io.Writer, run map[string]bool) (err error) {
	if err := testutil.Prerequisites(b.image); err != nil {
		return fmt.Errorf("prerequisites: %w (make mpi-image builds %s)", err, b.image)
	}
	if out, err := exec.Command("docker", "run", "--rm", "--network", "none", b.image, "test", "-x", "/usr/bin/mpi-perf").CombinedOutput(); err != nil {
		return fmt.Errorf("%s has no /usr/bin/mpi-perf (%v: %s): rebuild it: make mpi-image", b.image, err, bytes.TrimSpace(out))
	}
	for _, p := range []*string{&b.mpiexec, &b.proxy} {
		name := map[*string]string{&b.mpiexec: "mpiexec.hydra", &b.proxy: "hydra_pmi_proxy"}[p]
		if *p, err = exec.LookPath(name); err != nil {
			return fmt.Errorf("%s not found (apt-get install mpich)", name)
		}
	}
	for _, s := range []struct {
		socker  *string
		seccomp bool
	}{{&b.socker, true}, {&b.sockerDockerSeccomp, false}} {
		in, err := benchutil.Install("socker-bench-mpi-", benchutil.Config{Image: b.image, Network: "host", PidsLimit: 4096, Seccomp: s.seccomp,
			Extra: "[cgroups]\nallow_delegated = true\n"})
		if err != nil {
			return err
		}
		defer func() {
			if rmErr := in.Close(); rmErr != nil && err == nil {
				err = rmErr
			}
		}()
		*s.socker = in.Socker
		if b.dir == "" {
			b.dir = in.Dir
		}
	}
	if b.user, err = testutil.EnsureUser(userName, groupName); err != nil {
		return err
	}
	if err := b.compile(); err != nil {
		return err
	}
	// mrun --master local:2 as the user: its agents' task cgroups are
	// delegated to the user, as mrun --setup-local does.
	if err := localmesos.Delegate(int(b.user.UID), int(b.user.GID)); err != nil {
		return err
	}
	defer localmesos.Undelegate(int(b.user.UID))
	b.hosts = [2]string{"localhost", testutil.LoopbackHostname()}
	// The programs are found on PATH: the native ones in dir/bin, the
	// image's in /usr/bin (hydra hands mpiexec's PATH to the ranks).
	// UCX_NET_DEVICES=lo: ranks in different containers cannot share
	// memory and talk TCP, by default on every interface; loopback only.
	b.env = []string{"PATH=" + filepath.Join(b.dir, "bin") + ":/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C", "UCX_NET_DEVICES=lo"}

	fmt.Fprintf(w, "MPI benchmark: MPICH %s, Docker %s, kernel %s, %d CPUs, image %s, hosts %s and %s (loopback), user %s\n",
		pkgVersion("mpich"), dockerVersion(), kernel(), runtime.NumCPU(), b.image, b.hosts[0], b.hosts[1], b.user.Name)
	fmt.Fprintf(w, "Variants alternate run by run after one warm-up round; medians of the runs. mpi-perf: IMB-style PingPong (ranks 0-1) and Allreduce, %s s per size.\n", b.perfTime)
	for _, p := range parts {
		if !run[p] {
			continue
		}
		var err error
		switch p {
		case "a":
			err = b.oneContainer(ctx, w)
		case "b":
			err = b.twoContainers(ctx, w)
		case "c":
			err = b.trivialJob(ctx, w)
		case "hello":
			err = b.hello(ctx, w)
		}
		if err != nil {
			return fmt.Errorf("(%s) %w", p, err)
		}
	}
	return nil
}

// oneContainer is (a): 2 ranks in one socker container against 2 native
// ranks, the container with the packaged seccomp profile and with Docker's
// built-in one.
func (b *bench) oneContainer(ctx context.Context, w io.Writer) error {
	vs := []variant{
		{"native: mpiexec.hydra -n 2 mpi-perf", func() (result, error) { return b.native(ctx, 2, "mpi-perf", b.perfTime) }},
		{"socker, packaged seccomp profile: socker run " + b.image + " -- mpiexec.hydra -n 2 mpi-perf", func() (result, error) {
			return b.inContainer(ctx, b.socker, "mpiexec.hydra", "-n", "2", "mpi-perf", b.perfTime)
		}},
		{"socker, Docker's built-in seccomp profile: the same", func() (result, error) {
			return b.inContainer(ctx, b.sockerDockerSeccomp, "mpiexec.hydra", "-n", "2", "mpi-perf", b.perfTime)
		}},
	}
	res, err := interleave(b.pn, vs, checkPerf)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n(a) 2 ranks in ONE socker container (host network) vs 2 native ranks on the host, mpi-perf, median of %d runs\n", b.pn)
	fmt.Fprintln(w, "    targets: latency <= 1.1x native, bandwidth >= 0.9x native; ratio = container/native (latency and allreduce: time, lower is better)")
	perfTable(w, vs, []bool{false, true, true}, res, 1.1, 0.9)
	fmt.Fprintln(w, "    The packaged profile (container.seccomp_profile) is Moby's current default, which allows process_vm_readv/writev on kernel >= 4.8;")
	fmt.Fprintln(w, "    Docker 20.10's built-in profile denies them, so UCX's cma transport (single-copy large messages) fails inside the container.")
	return nil
}

// twoContainers is (b): ranks 0 and 1 under two proxies on two loopback
// "hosts", so that MPICH talks through UCX between them: in two socker
// containers (UCX: TCP over lo, no shared memory across containers)
// against native proxies forced to TCP, with native shared memory and
// mrun for reference.
func (b *bench) twoContainers(ctx context.Context, w io.Writer) error {
	two := b.hosts[0] + ":1," + b.hosts[1] + ":1"
	perf := []string{"mpi-perf", b.perfTime}
	vs := []variant{
		{"native, 2 proxies, UCX_TLS=tcp,self", func() (result, error) {
			return b.manual(ctx, false, []string{"UCX_TLS=tcp,self"}, two, 2, perf...)
		}},
		{"2 proxies in 2 socker containers (UCX tcp/lo)", func() (result, error) { return b.manual(ctx, true, nil, two, 2, perf...) }},
		{"mrun -N 2 -n 2 --master local:2", func() (result, error) { return b.viaMrun(ctx, 2, 2, perf...) }},
		{"native, 2 proxies, UCX's choice (shared memory)", func() (result, error) { return b.manual(ctx, false, nil, two, 2, perf...) }},
	}
	res, err := interleave(b.pn, vs, checkPerf)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n(b) 2 ranks in TWO containers on one host vs native ranks over TCP (UCX_TLS=tcp,self), mpi-perf, median of %d runs\n", b.pn)
	fmt.Fprintln(w, "    target: >= 0.95x native TCP (bandwidth ratio >= 0.95, latency ratio <= 1/0.95 = 1.05); ratio = variant/native TCP")
	perfTable(w, vs, []bool{false, true, true, false}, res, 1/0.95, 0.95)
	m := medians(res)
	for v := 1; v <= 2; v++ {
		lat, bw := m[v]["latency 8B"]/m[0]["latency 8B"], m[v]["bandwidth 1MiB"]/m[0]["bandwidth 1MiB"]
		fmt.Fprintf(w, "    (b) %s / native TCP: latency 8B x%.2f, bandwidth 1MiB x%.2f: %s\n", vs[v].name, lat, bw,
			verdict(lat <= 1/0.95 && bw >= 0.95, "target >= 0.95x"))
	}
	fmt.Fprintln(w, "    On a cluster, ranks on different nodes use the network either way; containers on one host pay for TCP")
	fmt.Fprintln(w, "    where native ranks share memory (the last row, for reference).")
	return nil
}

// trivialJob is (c): mpi-hello's wall time through mrun against native
// mpiexec, and mrun's own account (--timings) of where the time goes.
func (b *bench) trivialJob(ctx context.Context, w io.Writer) error {
	vs := []variant{
		{"native mpiexec.hydra -n 2 mpi-hello", func() (result, error) { return b.native(ctx, 2, "mpi-hello") }},
		{"mrun -N 1 -n 2 --master local:2 mpi-hello", func() (result, error) { return b.viaMrun(ctx, 1, 2, "mpi-hello") }},
	}
	res, err := interleave(b.n, vs, func(r result) error { return checkHello(r.out, 2, b.user.UID) })
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n(c) a trivial job, mpi-hello with 2 ranks: wall time from exec to exit, median of %d runs\n", b.n)
	native, mrun := medianD(walls(res[0])), medianD(walls(res[1]))
	fmt.Fprintf(w, "  %-48s %8.1f ms\n", vs[0].name, ms(native))
	fmt.Fprintf(w, "  %-48s %8.1f ms  x%.1f native\n", vs[1].name, ms(mrun), float64(mrun)/float64(native))
	return mrunParts(w, res[1])
}

// hello is the bootstrap benchmark: mpi-hello with 4 ranks natively, with
// the manual launcher and native proxies, with the proxies via socker, and
// through mrun.
func (b *bench) hello(ctx context.Context, w io.Writer) error {
	four := b.hosts[0] + ":2," + b.hosts[1] + ":2"
	vs := []variant{
		{"native mpiexec.hydra -n 4", func() (result, error) { return b.native(ctx, 4, "mpi-hello") }},
		{"manual launcher, 2 native proxies", func() (result, error) { return b.manual(ctx, false, nil, four, 4, "mpi-hello") }},
		{"manual launcher, 2 proxies via socker", func() (result, error) { return b.manual(ctx, true, nil, four, 4, "mpi-hello") }},
		{"mrun -N 2 -n 4 --master local:2", func() (result, error) { return b.viaMrun(ctx, 2, 4, "mpi-hello") }},
	}
	res, err := interleave(b.n, vs, func(r result) error { return checkHello(r.out, 4, b.user.UID) })
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nhello world, 4 ranks: wall time (mpiexec start to last exit), median and min of %d runs\n", b.n)
	base := medianD(walls(res[0]))
	for v, h := range vs {
		m := medianD(walls(res[v]))
		fmt.Fprintf(w, "  %-40s %8.1f ms  (min %6.1f)  x%.2f\n", h.name, ms(m), ms(slices.Min(walls(res[v]))), float64(m)/float64(base))
	}
	fmt.Fprintf(w, "  ratio socker path / native manual launcher: x%.2f\n", float64(medianD(walls(res[2])))/float64(medianD(walls(res[1]))))
	fmt.Fprintf(w, "  ratio mrun local:2 / native mpiexec -n 4:   x%.2f (mrun's wall time includes starting the local Mesos)\n", float64(medianD(walls(res[3])))/float64(base))
	return nil
}

// compile builds mrun and the native programs (with the host's mpicc) into
// dir/bin.
func (b *bench) compile() error {
	root, err := testutil.RepoRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(b.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return err
	}
	b.mrun = filepath.Join(bin, "mrun")
	build := exec.Command("go", "build", "-o", b.mrun, "./cmd/mrun")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building mrun: %v: %s", err, out)
	}
	for _, p := range []string{"mpi-hello", "mpi-perf"} {
		out, err := exec.Command("mpicc", "-O2", "-o", filepath.Join(bin, p), filepath.Join(root, "packaging", "mpi-image", p+".c")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mpicc %s: %v: %s", p, err, out)
		}
	}
	return nil
}

// viaMrun runs prog as the user with `mrun -N nodes -n np --master local:2
// --timings` and returns mrun's wall time (starting the local Mesos
// included), its stdout and its stderr (with the timings), checking that
// no container of the user is left.
func (b *bench) viaMrun(ctx context.Context, nodes, np int, prog ...string) (result, error) {
	cmd := b.asUser(nil, append([]string{b.mrun, "-N", strconv.Itoa(nodes), "-n", strconv.Itoa(np), "-c", "1",
		"--image", b.image, "--master", "local:2", "--socker", b.socker, "--timeout", "60s", "--timings"}, prog...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := runCtx(ctx, cmd); err != nil {
		return result{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	wall := time.Since(start)
	if err := noContainers("socker.user=" + b.user.Name); err != nil {
		return result{}, err
	}
	return result{wall, out.String(), errb.String()}, nil
}

// asUser returns argv run as the test user, outside any task cgroup, with
// the benchmark's environment plus env.
func (b *bench) asUser(env []string, argv ...string) *exec.Cmd {
	cmd := testutil.AsUserOutside(b.user, argv...)
	cmd.Env = append(slices.Clone(b.env), env...)
	cmd.Dir = "/tmp"
	return cmd
}

// native runs `mpiexec.hydra -n np prog...` (default launcher: one local
// proxy) and returns its wall time and stdout.
func (b *bench) native(ctx context.Context, np int, prog ...string) (result, error) {
	cmd := b.asUser(nil, append([]string{b.mpiexec, "-n", strconv.Itoa(np), "-wdir", "/tmp"}, prog...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := runCtx(ctx, cmd); err != nil {
		return result{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	return result{time.Since(start), out.String(), errb.String()}, nil
}

// inContainer runs `socker run IMAGE -- argv...` as the user in a task
// cgroup of its own (created before the clock starts, as Mesos would have)
// with the given socker, and returns its wall time and stdout.
func (b *bench) inContainer(ctx context.Context, socker string, argv ...string) (result, error) {
	tc, err := testutil.NewTaskCgroup(memLimit)
	if err != nil {
		return result{}, err
	}
	defer tc.Close()
	cmd := tc.Command(&b.user, append([]string{socker, "run", b.image, "--"}, argv...)...)
	cmd.Env = b.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := runCtx(ctx, cmd); err != nil {
		return result{}, fmt.Errorf("%v: %s", err, errb.String())
	}
	wall := time.Since(start)
	if err := noContainers("socker.mesos-container-id=" + tc.ID); err != nil {
		return result{}, err
	}
	return result{wall, out.String(), errb.String()}, nil
}

// noContainers fails if a container with the label is left.
func noContainers(label string) error {
	ids, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+label).Output()
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(ids)) != 0 {
		return fmt.Errorf("containers left behind (%s): %s", label, bytes.TrimSpace(ids))
	}
	return nil
}

// manual runs prog with the manual launcher on hosts and starts each
// HYDRA_LAUNCH line's proxy natively or through socker (each in its own
// task cgroup, created before the clock starts, as Mesos would have). It
// returns the wall time from mpiexec's start until it and every proxy have
// exited, and mpiexec's stdout after HYDRA_LAUNCH_END. env is added to
// mpiexec's environment, which hydra hands to the ranks.
func (b *bench) manual(ctx context.Context, viaSocker bool, env []string, hosts string, np int, prog ...string) (result, error) {
	var tasks []*testutil.TaskCgroup
	defer func() {
		for _, tc := range tasks {
			tc.Close()
		}
	}()
	if viaSocker {
		for i := 0; i < strings.Count(hosts, ",")+1; i++ {
			tc, err := testutil.NewTaskCgroup(memLimit)
			if err != nil {
				return result{}, err
			}
			tasks = append(tasks, tc)
		}
	}
	mp := b.asUser(env, append([]string{b.mpiexec, "-launcher", "manual", "-hosts", hosts, "-n", strconv.Itoa(np), "-wdir", "/tmp"}, prog...)...)
	var errb bytes.Buffer
	mp.Stderr = &errb
	// A pipe of our own (not StdoutPipe, which Wait closes): the reader
	// below runs while waitCtx may kill a hung mpiexec.
	pr, pw, err := os.Pipe()
	if err != nil {
		return result{}, err
	}
	defer pr.Close()
	mp.Stdout = pw
	start := time.Now()
	err = mp.Start()
	pw.Close()
	if err != nil {
		return result{}, err
	}
	// Whatever happens, nothing of this job outlives the call.
	var proxies []*exec.Cmd
	defer func() {
		for _, c := range append([]*exec.Cmd{mp}, proxies...) {
			if c.ProcessState == nil && c.Process != nil {
				c.Process.Kill()
				c.Wait()
			}
		}
	}()
	r := bufio.NewReader(pr)
	var launches [][]string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return result{}, fmt.Errorf("mpiexec's stdout ended before HYDRA_LAUNCH_END: %v: %s", err, errb.String())
		}
		line = strings.TrimSpace(line)
		if line == "HYDRA_LAUNCH_END" {
			break
		}
		rest, ok := strings.CutPrefix(line, "HYDRA_LAUNCH: ")
		if !ok {
			return result{}, fmt.Errorf("unexpected line %q", line)
		}
		launches = append(launches, strings.Fields(rest)[1:])
	}
	if viaSocker && len(launches) != len(tasks) {
		return result{}, fmt.Errorf("%d HYDRA_LAUNCH lines for %d hosts", len(launches), len(tasks))
	}
	proxyErr := make([]bytes.Buffer, len(launches))
	for i, args := range launches {
		var c *exec.Cmd
		if viaSocker {
			c = tasks[i].Command(&b.user, append([]string{b.socker, "run", b.image, "--", "hydra_pmi_proxy"}, args...)...)
			c.Env = b.env
		} else {
			c = b.asUser(nil, append([]string{b.proxy}, args...)...)
		}
		c.Stdout, c.Stderr = &proxyErr[i], &proxyErr[i]
		if err := c.Start(); err != nil {
			return result{}, err
		}
		proxies = append(proxies, c)
	}
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		out.ReadFrom(r)
		close(read)
	}()
	err = waitCtx(ctx, mp)
	<-read
	if err != nil {
		return result{}, fmt.Errorf("mpiexec: %v: %s", err, errb.String())
	}
	for i, c := range proxies {
		if err := waitCtx(ctx, c); err != nil {
			return result{}, fmt.Errorf("proxy %d: %v: %s", i, err, proxyErr[i].String())
		}
	}
	wall := time.Since(start)
	for _, tc := range tasks {
		if err := noContainers("socker.mesos-container-id=" + tc.ID); err != nil {
			return result{}, err
		}
	}
	return result{wall, out.String(), errb.String()}, nil
}

// runCtx runs cmd; waitCtx waits for a started cmd, killing it if ctx ends
// or it runs for more than two minutes.
func runCtx(ctx context.Context, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	return waitCtx(ctx, cmd)
}

func waitCtx(ctx context.Context, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return errors.New("interrupted")
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		return errors.New("did not finish within 2 minutes (killed)")
	}
}

var rankLine = regexp.MustCompile(`^rank (\d+) of (\d+) on \S+ uid (\d+) cgroup \S+$`)

// checkHello checks that out has one line per rank of np, each with uid.
func checkHello(out string, np int, uid uint32) error {
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := rankLine.FindStringSubmatch(l)
		if m == nil || m[2] != strconv.Itoa(np) || m[3] != strconv.FormatUint(uint64(uid), 10) || seen[m[1]] {
			return fmt.Errorf("unexpected output %q", out)
		}
		seen[m[1]] = true
	}
	if len(seen) != np {
		return fmt.Errorf("want %d ranks, got %q", np, out)
	}
	return nil
}

func pkgVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return "?"
	}
	return string(out)
}

func dockerVersion() string {
	out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func kernel() string {
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}
