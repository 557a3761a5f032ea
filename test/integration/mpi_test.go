//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/testutil"
)

// mpiImage is built by `make mpi-image` (packaging/mpi-image/build.sh):
// MPICH's hydra_pmi_proxy, its libraries, mpi-hello and mpi-pingpong.
const mpiImage = "socker/mpich:4"

// The MPI bootstrap mrun performs, without Mesos: mpiexec.hydra runs natively
// as the user with the manual launcher, and each HYDRA_LAUNCH line becomes a
// `socker run IMAGE -- hydra_pmi_proxy ARGS` in its own task cgroup.
//
// What MPICH 4.0.2's manual launcher does (found here with Debian's mpich
// 4.0.2-3; mrun relies on it). `mpiexec.hydra -launcher manual -hosts
// h1:k1,h2:k2 -n N PROG` prints on stdout one line per host that receives
// ranks (with -n 2 and h1:2, only h1's), in host order, then an end marker:
//
//	HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --control-port h1:PORT --rmk user --launcher manual --demux poll --pgid 0 --retries 10 --usize -2 --pmi-port 0 --gpus-per-proc -2 --proxy-id 0
//	HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy ... --proxy-id 1
//	HYDRA_LAUNCH_END
//
// Each line ends with a space. The first field is the proxy's path on
// the mpiexec host (ignored: the image has its own); the rest are the
// arguments, the same for every line but --proxy-id. The control port's
// host is the first name of -hosts as written (localhost, vm,
// 127.0.0.1), so it must resolve where the proxies run.
//
// Nothing about the program (name, arguments, environment, working
// directory) is in the line: each proxy fetches it over the control
// connection. mpiexec's whole environment (PATH included) and its
// working directory (or -wdir) reach the ranks, so the program must be
// on that PATH and the directory must exist inside the container.
//
// mpiexec then waits, with no time limit, for every proxy to connect
// back to the control port. The ranks of the proxies that did connect
// start and block in MPI_Init until all have. Rank output reaches
// mpiexec's stdout through the proxies, which print nothing themselves;
// mpiexec and each proxy exit 0 when all ranks did.
//
// A proxy that never connects (its socker run refused) makes mpiexec wait
// forever. SIGTERM is forwarded to the connected proxies (their ranks die,
// they exit) but mpiexec keeps waiting for the missing one; a second signal
// makes it abort (255, or SIGSEGV after SIGINT: a 4.0.2 bug when a proxy
// never connected). MPIEXEC_TIMEOUT=S bounds the whole job: mpiexec prints
// "APPLICATION TIMED OUT, TIMEOUT = Ss" on stdout and dies (in 4.0.2 by
// SIGSEGV, status 139). A connected proxy whose mpiexec goes away notices
// the closed control socket and exits 7 ("assert (!closed) failed"), which
// ends its container.
//
// A connected proxy that is killed goes unnoticed too: mpiexec waits for the
// remaining ranks. So mrun must watch its tasks and kill mpiexec itself
// (SIGKILL: its signal handling is unreliable) when one fails.
//
// Ranks (MPICH 4.0.2 is ch4:ucx) connect to every other rank in MPI_Init,
// mpi-hello's included. Under one proxy they share memory; across proxies
// natively UCX uses sysv/cma shared memory; across containers it sees other
// IPC and PID namespaces and falls back to TCP, on every interface unless
// UCX_NET_DEVICES says otherwise (here: lo, see startHydra).
func TestMPI_HydraBootstrapThroughSocker(t *testing.T) {
	mpiexec := mpiPrerequisites(t)
	withConfig(t, mpiConfig(t))
	second := testutil.LoopbackHostname()
	hosts := "localhost:2," + second + ":2"
	t.Logf("hosts %s", hosts)

	t.Run("both proxies through socker", func(t *testing.T) {
		tasks := []*testutil.TaskCgroup{task(t, 512*mib), task(t, 512*mib)}
		before := len(auditLines(t))
		job := startHydra(t, mpiexec, hosts, 4, nil, "mpi-hello")
		if len(job.launches) != 2 {
			t.Fatalf("want 2 HYDRA_LAUNCH lines, got %d: %q", len(job.launches), job.launches)
		}
		var proxies []*proxyRun
		for i, args := range job.launches {
			proxies = append(proxies, startProxy(t, tasks[i], mpiImage, args))
		}
		code, signalled, waited := job.wait(90 * time.Second)
		if !waited {
			t.Fatalf("mpiexec did not finish within 90s; stdout %q stderr %q", job.stdout(), job.stderr.String())
		}
		if code != 0 || signalled {
			t.Errorf("mpiexec exit status %d (signal %v), want 0; stderr %q", code, signalled, job.stderr.String())
		}
		for i, p := range proxies {
			if !p.wait(30 * time.Second) {
				t.Errorf("proxy %d: socker run still running 30s after mpiexec ended", i)
				continue
			}
			if p.code != 0 {
				t.Errorf("proxy %d: socker run exit status %d, want 0; stdout %q stderr %q", i, p.code, p.stdout.String(), p.stderr.String())
			}
			if ids := socketContainers(t, tasks[i].ID); len(ids) != 0 {
				t.Errorf("proxy %d: containers left behind: %v", i, ids)
			}
		}

		t.Logf("mpiexec's output:\n%s", job.stdout())
		// Four distinct ranks, each reporting alice's uid, two in a
		// container beneath each task's cgroup.
		rankLine := regexp.MustCompile(`^rank (\d+) of (\d+) on (\S+) uid (\d+) cgroup (\S+)$`)
		seen := map[int]bool{}
		perTask := make([]int, len(tasks))
		for _, l := range strings.Split(strings.TrimSpace(job.stdout()), "\n") {
			m := rankLine.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("unexpected mpiexec output line %q", l)
				continue
			}
			r, _ := strconv.Atoi(m[1])
			if m[2] != "4" {
				t.Errorf("%q: size %s, want 4", l, m[2])
			}
			if m[4] != strconv.FormatUint(uint64(alice.UID), 10) {
				t.Errorf("%q: uid %s, want alice's %d", l, m[4], alice.UID)
			}
			if seen[r] {
				t.Errorf("rank %d printed twice", r)
			}
			seen[r] = true
			in := -1
			for i, tc := range tasks {
				if strings.HasPrefix(m[5], tc.Path+"/") {
					in = i
					perTask[i]++
				}
			}
			if in < 0 {
				t.Errorf("%q: not beneath a task cgroup", l)
			}
		}
		if perTask[0] != 2 || perTask[1] != 2 {
			t.Errorf("ranks per task cgroup %v, want 2 and 2", perTask)
		}
		for r := 0; r < 4; r++ {
			if !seen[r] {
				t.Errorf("rank %d missing from mpiexec's output %q", r, job.stdout())
			}
		}

		// Each proxy ran in a container of its own task cgroup: a start
		// record, and an exit record with status 0 and the placement verified.
		for i, tc := range tasks {
			var start, exit bool
			for _, r := range newRecords(t, before) {
				if r.MesosContainerID != tc.ID || r.UID != alice.UID {
					continue
				}
				switch r.Event {
				case "start":
					start = len(r.Command) > 0 && r.Command[0] == "hydra_pmi_proxy" && r.Image == "docker.io/"+mpiImage
				case "exit":
					exit = r.ExitStatus != nil && *r.ExitStatus == 0 && r.CgroupVerified != nil && *r.CgroupVerified
				}
			}
			if !start || !exit {
				t.Errorf("proxy %d: want a start record (hydra_pmi_proxy in %s) and an exit record (status 0, cgroup verified) for task %s", i, mpiImage, tc.ID)
			}
		}
	})

	t.Run("one proxy refused", func(t *testing.T) {
		// Hydra alone would wait forever for the refused proxy (see above);
		// MPIEXEC_TIMEOUT is its own bound on the job. The test's deadline
		// beyond it catches a hang.
		const hydraTimeout = 8
		tasks := []*testutil.TaskCgroup{task(t, 512*mib), task(t, 512*mib)}
		since := time.Now()
		job := startHydra(t, mpiexec, hosts, 4, []string{"MPIEXEC_TIMEOUT=" + strconv.Itoa(hydraTimeout)}, "mpi-hello")
		if len(job.launches) != 2 {
			t.Fatalf("want 2 HYDRA_LAUNCH lines, got %d: %q", len(job.launches), job.launches)
		}
		good := startProxy(t, tasks[0], mpiImage, job.launches[0])
		refused := startProxy(t, tasks[1], "socker/mpich:latest", job.launches[1])
		if !refused.wait(30 * time.Second) {
			t.Fatal("the refused socker run did not end")
		}
		assertOneLineError(t, result{refused.code, refused.stdout.String(), refused.stderr.String()}, 77, `image "docker.io/socker/mpich:latest" is not allowed`)

		start := time.Now()
		code, signalled, waited := job.wait(hydraTimeout*time.Second + 30*time.Second)
		if !waited {
			t.Errorf("mpiexec hung: still running %v after the refusal (MPIEXEC_TIMEOUT=%d); killed", time.Since(start).Round(time.Second), hydraTimeout)
		} else {
			t.Logf("mpiexec ended %v after the refusal: status %d (signal %v); stdout %q, stderr %q", time.Since(start).Round(100*time.Millisecond), code, signalled, job.stdout(), job.stderr.String())
			if code == 0 && !signalled {
				t.Errorf("mpiexec exited 0 although a proxy never started")
			}
		}
		if strings.Contains(job.stdout(), "rank ") {
			t.Errorf("ranks ran although a proxy was refused: %q", job.stdout())
		}
		// With mpiexec gone, the connected proxy ends its container itself.
		if !good.wait(30 * time.Second) {
			t.Errorf("the connected proxy's socker run still runs 30s after mpiexec ended")
		} else {
			t.Logf("the connected proxy's socker run exited %d; stderr %q", good.code, good.stderr.String())
			if good.code == 0 {
				t.Errorf("the connected proxy's socker run exited 0 although the job failed")
			}
		}
		for i, tc := range tasks {
			if ids := socketContainers(t, tc.ID); len(ids) != 0 {
				t.Errorf("proxy %d: containers left behind: %v", i, ids)
			}
		}
		// The refused proxy's task never got a container at all.
		for _, ev := range containerEvents(t, since, tasks[1].ID) {
			t.Errorf("Docker saw a container event for the refused task: %s %s", ev.Action, ev.Actor.ID)
		}
	})
}

// mpiPrerequisites fails the test unless the MPI image and the host's
// mpiexec.hydra are there, and returns mpiexec.hydra's path.
func mpiPrerequisites(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("docker", "image", "inspect", mpiImage).CombinedOutput(); err != nil {
		t.Fatalf("docker image %s unavailable (make mpi-image): %s", mpiImage, strings.TrimSpace(string(out)))
	}
	mpiexec, err := exec.LookPath("mpiexec.hydra")
	if err != nil {
		t.Fatal("mpiexec.hydra not found (apt-get install mpich; scripts/setup.sh does)")
	}
	return mpiexec
}

// mpiConfig is the base config with the MPI image allowed and host network.
func mpiConfig(t *testing.T) string {
	t.Helper()
	c := baseConfig
	for _, r := range [][2]string{
		{fmt.Sprintf("allow = [%q]", image), fmt.Sprintf("allow = [%q, %q]", image, mpiImage)},
		{`network = "none"`, `network = "host"`},
	} {
		if !strings.Contains(c, r[0]) {
			t.Fatalf("base config has no %q", r[0])
		}
		c = strings.Replace(c, r[0], r[1], 1)
	}
	return c
}

// hydraJob is an mpiexec.hydra started with the manual launcher.
type hydraJob struct {
	cmd      *exec.Cmd
	launches [][]string // each HYDRA_LAUNCH line's arguments after the proxy path
	mu       sync.Mutex
	out      bytes.Buffer // stdout after HYDRA_LAUNCH_END
	stderr   testutil.SyncBuffer
	outDone  chan struct{}
	done     chan struct{}
}

// startHydra starts `mpiexec.hydra -launcher manual -hosts hosts -n n prog`
// as alice, outside any task cgroup, with a minimal environment (plus env),
// and reads the HYDRA_LAUNCH lines up to HYDRA_LAUNCH_END. mpiexec is killed
// at the end of the test if it still runs.
func startHydra(t *testing.T, mpiexec, hosts string, n int, env []string, prog ...string) *hydraJob {
	t.Helper()
	// -wdir: the ranks' working directory, which must exist in the image.
	argv := append([]string{mpiexec, "-launcher", "manual", "-hosts", hosts, "-n", strconv.Itoa(n), "-wdir", "/tmp"}, prog...)
	// No core file from a crashing mpiexec (4.0.2 can SIGSEGV on abort).
	cmd := exec.Command("/bin/sh", append([]string{"-c", `ulimit -c 0 && exec "$@"`, "sh"}, testutil.AsUserOutside(alice, argv...).Args...)...)
	// Hydra hands this environment to the ranks. UCX_NET_DEVICES=lo: ranks
	// in different containers talk TCP, and only over loopback (by default
	// UCX also uses every other interface; the image defaults to lo too).
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C", "UCX_NET_DEVICES=lo"}, env...)
	cmd.Dir = "/tmp"
	j := &hydraJob{cmd: cmd, outDone: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = &j.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-j.done:
		default:
			cmd.Process.Kill()
			<-j.done
		}
	})

	type launchResult struct {
		launches [][]string
		err      error
	}
	got := make(chan launchResult, 1)
	r := bufio.NewReader(stdout)
	go func() {
		var res launchResult
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				res.err = fmt.Errorf("mpiexec's stdout ended before HYDRA_LAUNCH_END: %v (read %q)", err, line)
				break
			}
			line = strings.TrimRight(line, "\n")
			if line == "HYDRA_LAUNCH_END" {
				break
			}
			rest, ok := strings.CutPrefix(line, "HYDRA_LAUNCH: ")
			if !ok {
				res.err = fmt.Errorf("unexpected line before HYDRA_LAUNCH_END: %q", line)
				break
			}
			f := strings.Fields(rest)
			if len(f) < 2 || !strings.HasSuffix(f[0], "/hydra_pmi_proxy") {
				res.err = fmt.Errorf("HYDRA_LAUNCH line does not start a hydra_pmi_proxy: %q", line)
				break
			}
			res.launches = append(res.launches, f[1:])
		}
		got <- res
		// The rest of stdout: the ranks' output.
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			j.mu.Lock()
			j.out.Write(buf[:n])
			j.mu.Unlock()
			if err != nil {
				break
			}
		}
		close(j.outDone)
	}()
	go func() {
		<-j.outDone
		cmd.Wait() // the status is read from cmd.ProcessState
		close(j.done)
	}()
	select {
	case res := <-got:
		if res.err != nil {
			t.Fatalf("%v; stderr %q", res.err, j.stderr.String())
		}
		for i, a := range res.launches {
			want := []string{"--control-port", "--proxy-id", strconv.Itoa(i)}
			if joined := strings.Join(a, " "); !strings.Contains(joined, want[0]+" ") || !strings.HasSuffix(joined, want[1]+" "+want[2]) {
				t.Fatalf("HYDRA_LAUNCH line %d: %q lacks %v", i, joined, want)
			}
		}
		j.launches = res.launches
	case <-time.After(30 * time.Second):
		t.Fatalf("no HYDRA_LAUNCH_END from mpiexec within 30s; stderr %q", j.stderr.String())
	}
	return j
}

// stdout returns the ranks' output read so far.
func (j *hydraJob) stdout() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.out.String()
}

// wait waits up to d for mpiexec to end; if it does not, it kills it. It
// returns the exit status (128+N for signal N), whether it was a signal, and
// whether mpiexec ended by itself.
func (j *hydraJob) wait(d time.Duration) (code int, signalled, ended bool) {
	select {
	case <-j.done:
		ended = true
	case <-time.After(d):
		j.cmd.Process.Kill()
		<-j.done
	}
	code, signalled = exitStatus(j.cmd)
	return code, signalled, ended
}

// proxyRun is one `socker run IMAGE -- hydra_pmi_proxy ARGS` as alice in
// its task cgroup.
type proxyRun struct {
	cmd            *exec.Cmd
	stdout, stderr testutil.SyncBuffer
	done           chan struct{}
	code           int
}

// startProxy starts hydra_pmi_proxy with args through socker, as alice in tc.
func startProxy(t *testing.T, tc *testutil.TaskCgroup, img string, args []string) *proxyRun {
	t.Helper()
	p := &proxyRun{done: make(chan struct{})}
	p.cmd = sockerRun(tc, &alice, append([]string{img, "--", "hydra_pmi_proxy"}, args...)...)
	p.cmd.Stdin = nil
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			p.code = -1
		} else {
			p.code, _ = exitStatus(p.cmd)
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		// As a Mesos kill would: SIGTERM (socker stops the container).
		if !p.wait(0) {
			p.cmd.Process.Signal(syscall.SIGTERM)
			if !p.wait(30 * time.Second) {
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	})
	return p
}

// wait reports whether the run ended within d.
func (p *proxyRun) wait(d time.Duration) bool {
	if d == 0 {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}
