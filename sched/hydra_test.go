package sched

import (
	"bufio"
	"reflect"
	"strings"
	"testing"

	"github.com/sockerhpc/socker/sched/placement"
)

// launchLine is what MPICH 4.0.2's manual launcher printed on this project's
// machines (note the trailing space).
func launchLine(id string) string {
	return "HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --control-port vm:38519 --rmk user --launcher manual --demux poll --pgid 0 --retries 10 --usize -2 --pmi-port 0 --gpus-per-proc -2 --proxy-id " + id + " \n"
}

func proxyArgs(id string) []string {
	return strings.Fields("--control-port vm:38519 --rmk user --launcher manual --demux poll --pgid 0 --retries 10 --usize -2 --pmi-port 0 --gpus-per-proc -2 --proxy-id " + id)
}

func TestReadLaunches(t *testing.T) {
	out := "warning: something\n" + launchLine("1") + launchLine("0") + "HYDRA_LAUNCH_END\nrank 0 of 4\n"
	r := bufio.NewReader(strings.NewReader(out))
	got, other, err := ReadLaunches(r, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []ProxyLaunch{{0, proxyArgs("0")}, {1, proxyArgs("1")}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("launches %+v, want %+v", got, want)
	}
	if !reflect.DeepEqual(other, []string{"warning: something"}) {
		t.Errorf("other lines %q", other)
	}
	if rest, _ := r.ReadString('\n'); rest != "rank 0 of 4\n" {
		t.Errorf("ReadLaunches read past HYDRA_LAUNCH_END: next line %q", rest)
	}
}

func TestReadLaunchesErrors(t *testing.T) {
	for _, c := range []struct{ name, out, says string }{
		{"missing proxy", launchLine("0") + "HYDRA_LAUNCH_END\n", "no launch line for proxy 1"},
		{"proxy id out of range", launchLine("0") + launchLine("2") + "HYDRA_LAUNCH_END\n", "launched proxy 2 but the job has 2 hosts"},
		{"proxy twice", launchLine("0") + launchLine("0") + "HYDRA_LAUNCH_END\n", "two launch lines for proxy 0"},
		{"eof before end", launchLine("0") + launchLine("1"), "ended its output before HYDRA_LAUNCH_END"},
		{"not a proxy", "HYDRA_LAUNCH: /bin/sh -c evil --proxy-id 0\n", "unexpected hydra launch line"},
		{"no proxy id", "HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --control-port vm:1\n", "no --proxy-id"},
		{"bad proxy id", "HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --proxy-id -1\n", "bad --proxy-id"},
		{"padded proxy id", "HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --proxy-id 01\n", "bad --proxy-id"},
		{"two proxy ids", "HYDRA_LAUNCH: /usr/bin/hydra_pmi_proxy --proxy-id 0 --proxy-id 1\n", "two --proxy-id"},
		{"huge line", strings.Repeat("x", maxLaunchLine+1) + "\n", "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadLaunches(bufio.NewReader(strings.NewReader(c.out)), 2)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %v, want one saying %q", err, c.says)
			}
		})
	}
}

func TestHostsArgAndProxyCommand(t *testing.T) {
	plan := placement.Plan{Hosts: []placement.Host{{Hostname: "node1", Slots: 3}, {Hostname: "node2", Slots: 1}}}
	if got := HostsArg(plan); got != "node1:3,node2:1" {
		t.Errorf("HostsArg = %q", got)
	}
	got := ProxyCommand("/usr/bin/socker", "socker/mpich:4", []string{"/scratch/u:/scratch/u"}, ProxyLaunch{0, []string{"--proxy-id", "0"}})
	want := []string{"/usr/bin/socker", "run", "--mount", "/scratch/u:/scratch/u", "socker/mpich:4", "--", "hydra_pmi_proxy", "--proxy-id", "0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ProxyCommand = %q, want %q", got, want)
	}
}
