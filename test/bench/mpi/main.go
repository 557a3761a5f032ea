package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

func main() {
	image := flag.String("image", "socker/mpich:4", "the MPI image (make mpi-image)")
	n := flag.Int("n", 10, "measured runs of each hello variant")
	pn := flag.Int("pn", 5, "measured runs of each ping-pong variant")
	latIters := flag.Int("lat-iters", 20000, "ping-pong round trips for the latency")
	bwIters := flag.Int("bw-iters", 200, "ping-pong round trips for the bandwidth")
	flag.Parse()
	if flag.NArg() != 0 || *n < 1 || *pn < 1 {
		fmt.Fprintln(os.Stderr, "usage: mpi [-image IMAGE] [-n RUNS] [-pn RUNS] [-lat-iters N] [-bw-iters N]")
		os.Exit(2)
	}
	ctx, stop := benchutil.Interruptible()
	defer stop()
	b := &bench{image: *image, latIters: *latIters, bwIters: *bwIters}
	report, err := b.run(ctx, *n, *pn)
	if err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "bench mpi: "+err.Error())
		os.Exit(1)
	}
	fmt.Print(report)
}

type bench struct {
	image             string
	latIters, bwIters int
	dir               string // temporary: socker, config's audit log, native programs
	socker            string
	mpiexec, proxy    string
	mrun              string
	user              testutil.User
	hosts             [2]string
	env               []string
}

func (b *bench) run(ctx context.Context, n, pn int) (report string, err error) {
	if err := testutil.Prerequisites(b.image); err != nil {
		return "", fmt.Errorf("prerequisites: %w (make mpi-image builds %s)", err, b.image)
	}
	for _, p := range []*string{&b.mpiexec, &b.proxy} {
		name := map[*string]string{&b.mpiexec: "mpiexec.hydra", &b.proxy: "hydra_pmi_proxy"}[p]
		if *p, err = exec.LookPath(name); err != nil {
			return "", fmt.Errorf("%s not found (apt-get install mpich)", name)
		}
	}
	in, err := benchutil.Install("socker-bench-mpi-", benchutil.Config{Image: b.image, Network: "host", PidsLimit: 4096,
		Extra: "[cgroups]\nallow_delegated = true\n"})
	if err != nil {
		return "", err
	}
	defer func() {
		if rmErr := in.Close(); rmErr != nil && err == nil {
			err = rmErr
		}
	}()
	b.dir, b.socker = in.Dir, in.Socker
	if b.user, err = testutil.EnsureUser(userName, groupName); err != nil {
		return "", err
	}
	if err := b.compile(); err != nil {
		return "", err
	}
	// mrun --master local:2 as the user: its agents' task cgroups are
	// delegated to the user, as mrun --setup-local does.
	if err := localmesos.Delegate(int(b.user.UID), int(b.user.GID)); err != nil {
		return "", err
	}
	defer localmesos.Undelegate(int(b.user.UID))
	b.hosts = [2]string{"localhost", testutil.LoopbackHostname()}
	// The programs are found on PATH: the native ones in dir/bin, the
	// image's in /usr/bin (hydra hands mpiexec's PATH to the ranks).
	// UCX_NET_DEVICES=lo: ranks in different containers cannot share
	// memory and talk TCP, by default on every interface; loopback only.
	b.env = []string{"PATH=" + filepath.Join(b.dir, "bin") + ":/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C", "UCX_NET_DEVICES=lo"}

	type variant struct {
		name string
		run  func() (time.Duration, string, error)
	}
	hello := []variant{
		{"native mpiexec.hydra -n 4", func() (time.Duration, string, error) { return b.native(ctx, 4, "mpi-hello") }},
		{"manual launcher, 2 native proxies", func() (time.Duration, string, error) {
			return b.manual(ctx, false, nil, b.hosts[0]+":2,"+b.hosts[1]+":2", 4, "mpi-hello")
		}},
		{"manual launcher, 2 proxies via socker", func() (time.Duration, string, error) {
			return b.manual(ctx, true, nil, b.hosts[0]+":2,"+b.hosts[1]+":2", 4, "mpi-hello")
		}},
		{"mrun -N 2 -n 4 --master local:2", func() (time.Duration, string, error) { return b.viaMrun(ctx, 2, 4, "mpi-hello") }},
	}
	helloTimes := make([][]time.Duration, len(hello))
	for i := -1; i < n; i++ { // i == -1: warm-up, not counted
		for v, h := range hello {
			d, out, err := h.run()
			if err != nil {
				return "", fmt.Errorf("hello, %s: %w", h.name, err)
			}
			if err := checkHello(out, 4, b.user.UID); err != nil {
				return "", fmt.Errorf("hello, %s: %w", h.name, err)
			}
			if i >= 0 {
				helloTimes[v] = append(helloTimes[v], d)
			}
		}
	}

	pp := []string{"mpi-pingpong", strconv.Itoa(b.latIters), strconv.Itoa(b.bwIters)}
	two := b.hosts[0] + ":1," + b.hosts[1] + ":1"
	ping := []variant{
		{"native, one proxy (MPICH shm)", func() (time.Duration, string, error) { return b.native(ctx, 2, pp...) }},
		{"native, 2 proxies (UCX shm)", func() (time.Duration, string, error) { return b.manual(ctx, false, nil, two, 2, pp...) }},
		{"native, 2 proxies, UCX_TLS=tcp,self", func() (time.Duration, string, error) {
			return b.manual(ctx, false, []string{"UCX_TLS=tcp,self"}, two, 2, pp...)
		}},
		{"2 proxies via socker (UCX tcp/lo)", func() (time.Duration, string, error) { return b.manual(ctx, true, nil, two, 2, pp...) }},
		{"mrun -N 2 -n 2 --master local:2", func() (time.Duration, string, error) { return b.viaMrun(ctx, 2, 2, pp...) }},
	}
	lat := make([][]float64, len(ping))
	bw := make([][]float64, len(ping))
	for i := -1; i < pn; i++ {
		for v, p := range ping {
			_, out, err := p.run()
			if err != nil {
				return "", fmt.Errorf("ping-pong, %s: %w", p.name, err)
			}
			l, w, err := parsePingPong(out)
			if err != nil {
				return "", fmt.Errorf("ping-pong, %s: %w", p.name, err)
			}
			if i >= 0 {
				lat[v], bw[v] = append(lat[v], l), append(bw[v], w)
			}
		}
	}

	var r strings.Builder
	fmt.Fprintf(&r, "MPI bootstrap benchmark: MPICH %s, image %s, hosts %s and %s (loopback), user %s\n",
		mpichVersion(), b.image, b.hosts[0], b.hosts[1], b.user.Name)
	fmt.Fprintf(&r, "hello world, 4 ranks: wall time (mpiexec start to last exit), median and min of %d runs\n", n)
	base := median(helloTimes[0])
	for v, h := range hello {
		m := median(helloTimes[v])
		fmt.Fprintf(&r, "  %-40s %8.1f ms  (min %6.1f)  x%.2f\n", h.name, ms(m), ms(slices.Min(helloTimes[v])), float64(m)/float64(base))
	}
	fmt.Fprintf(&r, "  ratio socker path / native manual launcher: x%.2f\n", float64(median(helloTimes[2]))/float64(median(helloTimes[1])))
	fmt.Fprintf(&r, "  ratio mrun local:2 / native mpiexec -n 4:   x%.2f (mrun's wall time includes starting the local Mesos)\n", float64(median(helloTimes[3]))/float64(base))
	fmt.Fprintf(&r, "ping-pong ranks 0-1 (%d round trips of 8 B, %d of 1 MiB), median of %d runs\n", b.latIters, b.bwIters, pn)
	for v, p := range ping {
		fmt.Fprintf(&r, "  %-40s latency %7.2f us  bandwidth %8.1f MB/s\n", p.name, medianF(lat[v]), medianF(bw[v]))
	}
	fmt.Fprintf(&r, "  ratio socker / native 2 proxies:           latency x%.2f, bandwidth x%.2f\n",
		medianF(lat[3])/medianF(lat[1]), medianF(bw[3])/medianF(bw[1]))
	fmt.Fprintf(&r, "  ratio socker / native 2 proxies, both TCP: latency x%.2f, bandwidth x%.2f\n",
		medianF(lat[3])/medianF(lat[2]), medianF(bw[3])/medianF(bw[2]))
	fmt.Fprintf(&r, "  ratio mrun / native 2 proxies:             latency x%.2f, bandwidth x%.2f\n",
		medianF(lat[4])/medianF(lat[1]), medianF(bw[4])/medianF(bw[1]))
	fmt.Fprintf(&r, "  ratio mrun / native 2 proxies, both TCP:   latency x%.2f, bandwidth x%.2f\n",
		medianF(lat[4])/medianF(lat[2]), medianF(bw[4])/medianF(bw[2]))
	return r.String(), nil
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
	for _, p := range []string{"mpi-hello", "mpi-pingpong"} {
		out, err := exec.Command("mpicc", "-O2", "-o", filepath.Join(bin, p), filepath.Join(root, "packaging", "mpi-image", p+".c")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("mpicc %s: %v: %s", p, err, out)
		}
	}
	return nil
}

// viaMrun runs prog as the user with `mrun -N nodes -n np --master local:2`
// and returns mrun's wall time (starting the local Mesos included) and its
// stdout, checking that no container of the user is left.
func (b *bench) viaMrun(ctx context.Context, nodes, np int, prog ...string) (time.Duration, string, error) {
	cmd := b.asUser(nil, append([]string{b.mrun, "-N", strconv.Itoa(nodes), "-n", strconv.Itoa(np), "-c", "1",
		"--image", b.image, "--master", "local:2", "--socker", b.socker, "--timeout", "60s"}, prog...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := runCtx(ctx, cmd); err != nil {
		return 0, "", fmt.Errorf("%v: %s", err, errb.String())
	}
	wall := time.Since(start)
	ids, err := exec.Command("docker", "ps", "-aq", "--filter", "label=socker.user="+b.user.Name).Output()
	if err != nil {
		return 0, "", err
	}
	if len(bytes.TrimSpace(ids)) != 0 {
		return 0, "", fmt.Errorf("containers left behind by mrun: %s", bytes.TrimSpace(ids))
	}
	return wall, out.String(), nil
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
func (b *bench) native(ctx context.Context, np int, prog ...string) (time.Duration, string, error) {
	cmd := b.asUser(nil, append([]string{b.mpiexec, "-n", strconv.Itoa(np), "-wdir", "/tmp"}, prog...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := runCtx(ctx, cmd); err != nil {
		return 0, "", fmt.Errorf("%v: %s", err, errb.String())
	}
	return time.Since(start), out.String(), nil
}

// manual runs prog with the manual launcher on hosts and starts each
// HYDRA_LAUNCH line's proxy natively or through socker (each in its own
// task cgroup, created before the clock starts, as Mesos would have). It
// returns the wall time from mpiexec's start until it and every proxy have
// exited, and mpiexec's stdout after HYDRA_LAUNCH_END. env is added to
// mpiexec's environment, which hydra hands to the ranks.
func (b *bench) manual(ctx context.Context, viaSocker bool, env []string, hosts string, np int, prog ...string) (time.Duration, string, error) {
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
				return 0, "", err
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
		return 0, "", err
	}
	defer pr.Close()
	mp.Stdout = pw
	start := time.Now()
	err = mp.Start()
	pw.Close()
	if err != nil {
		return 0, "", err
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
			return 0, "", fmt.Errorf("mpiexec's stdout ended before HYDRA_LAUNCH_END: %v: %s", err, errb.String())
		}
		line = strings.TrimSpace(line)
		if line == "HYDRA_LAUNCH_END" {
			break
		}
		rest, ok := strings.CutPrefix(line, "HYDRA_LAUNCH: ")
		if !ok {
			return 0, "", fmt.Errorf("unexpected line %q", line)
		}
		launches = append(launches, strings.Fields(rest)[1:])
	}
	if viaSocker && len(launches) != len(tasks) {
		return 0, "", fmt.Errorf("%d HYDRA_LAUNCH lines for %d hosts", len(launches), len(tasks))
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
			return 0, "", err
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
		return 0, "", fmt.Errorf("mpiexec: %v: %s", err, errb.String())
	}
	for i, c := range proxies {
		if err := waitCtx(ctx, c); err != nil {
			return 0, "", fmt.Errorf("proxy %d: %v: %s", i, err, proxyErr[i].String())
		}
	}
	wall := time.Since(start)
	for _, tc := range tasks {
		ids, err := exec.Command("docker", "ps", "-aq", "--filter", "label=socker.mesos-container-id="+tc.ID).Output()
		if err != nil {
			return 0, "", err
		}
		if len(bytes.TrimSpace(ids)) != 0 {
			return 0, "", fmt.Errorf("containers left behind in task %s: %s", tc.ID, bytes.TrimSpace(ids))
		}
	}
	return wall, out.String(), nil
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

var (
	latLine = regexp.MustCompile(`(?m)^latency 8B: ([0-9.]+) us$`)
	bwLine  = regexp.MustCompile(`(?m)^bandwidth 1MiB: ([0-9.]+) MB/s$`)
)

func parsePingPong(out string) (lat, bw float64, err error) {
	l, w := latLine.FindStringSubmatch(out), bwLine.FindStringSubmatch(out)
	if l == nil || w == nil {
		return 0, 0, fmt.Errorf("unexpected output %q", out)
	}
	lat, _ = strconv.ParseFloat(l[1], 64)
	bw, _ = strconv.ParseFloat(w[1], 64)
	return lat, bw, nil
}

func mpichVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "mpich").Output()
	if err != nil {
		return "?"
	}
	return string(out)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(f []float64) float64 {
	s := slices.Clone(f)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
