package sched

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sockerhpc/socker/sched/placement"
)

// MPICH's hydra, started as `mpiexec.hydra -launcher manual -hosts
// h0:k0,h1:k1,... -n N PROGRAM`, does not start its proxies itself: it prints
// one line per host that gets ranks,
//
//	HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --control-port H:PORT --rmk user --launcher manual --demux poll --pgid 0 --retries 10 --usize -2 --pmi-port 0 --gpus-per-proc -2 --proxy-id I
//
// then a line HYDRA_LAUNCH_END, and waits for the proxies to connect back to
// H:PORT. Proxy I serves the I-th host of -hosts. The program, its arguments,
// environment and working directory are not in the line: each proxy fetches
// them over the control connection. (Observed with MPICH 4.0.2; see
// test/integration/mpi_test.go.) mrun runs each line's proxy inside a Mesos
// task on that host, through socker, so the arguments travel inside TaskInfo
// and never over an open socket.
const (
	hydraLaunchPrefix = "HYDRA_LAUNCH: "
	hydraLaunchEnd    = "HYDRA_LAUNCH_END"
)

// ProxyLaunch is one proxy command line printed by mpiexec.hydra's manual
// launcher.
type ProxyLaunch struct {
	ID   int      // --proxy-id: the index of its host in -hosts
	Args []string // the arguments after the proxy executable
}

// maxLaunchLine bounds one line of mpiexec output read by ReadLaunches.
const maxLaunchLine = 64 << 10

// ReadLaunches reads mpiexec.hydra's standard output up to HYDRA_LAUNCH_END
// and returns the proxy launches, indexed by proxy id: exactly want of them,
// ids 0..want-1, each once. Lines before the first HYDRA_LAUNCH line that are
// not launches are returned in other (hydra may print warnings there).
func ReadLaunches(r *bufio.Reader, want int) (launches []ProxyLaunch, other []string, err error) {
	launches = make([]ProxyLaunch, want)
	seen := make([]bool, want)
	for {
		line, err := r.ReadString('\n')
		if len(line) > maxLaunchLine {
			return nil, other, fmt.Errorf("mpiexec printed a line longer than %d bytes", maxLaunchLine)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == hydraLaunchEnd:
			for id, ok := range seen {
				if !ok {
					return nil, other, fmt.Errorf("mpiexec printed no launch line for proxy %d of %d", id, want)
				}
			}
			return launches, other, nil
		case strings.HasPrefix(line, hydraLaunchPrefix):
			p, perr := parseLaunch(strings.TrimPrefix(line, hydraLaunchPrefix))
			if perr != nil {
				return nil, other, perr
			}
			if p.ID >= want {
				return nil, other, fmt.Errorf("mpiexec launched proxy %d but the job has %d hosts", p.ID, want)
			}
			if seen[p.ID] {
				return nil, other, fmt.Errorf("mpiexec printed two launch lines for proxy %d", p.ID)
			}
			seen[p.ID] = true
			launches[p.ID] = p
		case line != "":
			other = append(other, line)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, other, fmt.Errorf("mpiexec ended its output before %s", hydraLaunchEnd)
			}
			return nil, other, fmt.Errorf("reading mpiexec output: %w", err)
		}
	}
}

// parseLaunch splits a launch command (hydra separates arguments with single
// spaces and quotes nothing) and finds its --proxy-id.
func parseLaunch(cmd string) (ProxyLaunch, error) {
	fields := strings.Fields(cmd)
	if len(fields) < 2 || !strings.HasSuffix(fields[0], "/hydra_pmi_proxy") {
		return ProxyLaunch{}, fmt.Errorf("unexpected hydra launch line %q", cmd)
	}
	p := ProxyLaunch{ID: -1, Args: fields[1:]}
	for i, a := range p.Args {
		if a == "--proxy-id" && i+1 < len(p.Args) {
			id, err := strconv.Atoi(p.Args[i+1])
			if err != nil || id < 0 || strconv.Itoa(id) != p.Args[i+1] {
				return ProxyLaunch{}, fmt.Errorf("bad --proxy-id in hydra launch line %q", cmd)
			}
			if p.ID >= 0 {
				return ProxyLaunch{}, fmt.Errorf("two --proxy-id in hydra launch line %q", cmd)
			}
			p.ID = id
		}
	}
	if p.ID < 0 {
		return ProxyLaunch{}, fmt.Errorf("no --proxy-id in hydra launch line %q", cmd)
	}
	return p, nil
}

// HostsArg returns mpiexec's -hosts value for a plan: "h0:k0,h1:k1,...", in
// plan order, so that proxy i serves Plan.Hosts[i].
func HostsArg(plan placement.Plan) string {
	parts := make([]string, len(plan.Hosts))
	for i, h := range plan.Hosts {
		parts[i] = h.Hostname + ":" + strconv.Itoa(h.Slots)
	}
	return strings.Join(parts, ",")
}

// ProxyCommand returns the argv of the Mesos command task that runs proxy p
// in a container: `socker run [--mount M]... IMAGE -- hydra_pmi_proxy ARGS...`.
// It is passed as CommandInfo arguments with shell=false: no shell parses it.
func ProxyCommand(socker, image string, mounts []string, p ProxyLaunch) []string {
	argv := []string{socker, "run"}
	for _, m := range mounts {
		argv = append(argv, "--mount", m)
	}
	argv = append(argv, image, "--", "hydra_pmi_proxy")
	return append(argv, p.Args...)
}
