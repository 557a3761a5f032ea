package wrapper

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A real line of /proc/<pid>/stat, with its fields numbered as in proc(5).
func statLine(comm, state, flags, start string) string {
	f := make([]string, 52)
	for i := range f {
		f[i] = strconv.Itoa(i + 1)
	}
	f[0], f[1], f[2], f[8], f[21] = "4242", "("+comm+")", state, flags, start
	return strings.Join(f, " ") + "\n"
}

func TestParseProcStat(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		want       ProcStat
		err        string
	}{
		{"running", statLine("sleep", "S", "4194560", "123456"), ProcStat{'S', 4194560, "123456"}, ""},
		{"command with ') ' and spaces", statLine("a) R 1 (b", "R", "0", "99"), ProcStat{'R', 0, "99"}, ""},
		{"zombie", statLine("x", "Z", "0", "7"), ProcStat{'Z', 0, "7"}, ""},
		{"exiting", statLine("x", "S", "4", "7"), ProcStat{'S', 4, "7"}, ""},
		{"no command name", "4242 x S 1", ProcStat{}, "no command name"},
		{"truncated", "4242 (x) S 1 2 3 4 5 6 7\n", ProcStat{}, "fields after the command name"},
		{"bad flags", statLine("x", "S", "-1", "7"), ProcStat{}, "flags"},
		{"bad start time", statLine("x", "S", "0", "later"), ProcStat{}, "start time"},
		{"bad state", statLine("x", "SS", "0", "7"), ProcStat{}, "state"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.data))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestProcStatExitingAndAlive(t *testing.T) {
	for _, tt := range []struct {
		s              ProcStat
		exiting, alive bool
	}{
		{ProcStat{State: 'S'}, false, true},
		{ProcStat{State: 'R', Flags: 0x400000}, false, true},
		{ProcStat{State: 'S', Flags: pfExiting}, true, true},
		{ProcStat{State: 'Z'}, true, false},
		{ProcStat{State: 'X'}, true, false},
	} {
		if tt.s.Exiting() != tt.exiting || tt.s.Alive() != tt.alive {
			t.Errorf("%+v: Exiting %v Alive %v, want %v %v", tt.s, tt.s.Exiting(), tt.s.Alive(), tt.exiting, tt.alive)
		}
	}
}

// readStatAt on real processes, through their /proc directory: this one, a
// child that is running, and the same child once it is reaped (its pinned
// directory no longer reads, whatever the pid names by then).
func TestReadStatAt(t *testing.T) {
	open := func(pid int) int {
		t.Helper()
		fd, err := ownProcs{}.openProc(pid)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	me, err := readStatAt(open(os.Getpid()))
	if err != nil || me.StartTime == "" || !me.Alive() || me.Exiting() {
		t.Fatalf("self: %+v, %v", me, err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fd := open(cmd.Process.Pid)
	child, err := readStatAt(fd)
	if err != nil || !child.Alive() || child.StartTime == "" {
		t.Fatalf("child: %+v, %v", child, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := readStatAt(fd); !errors.Is(err, errNoProcess) {
		t.Fatalf("reaped child: %v, want errNoProcess", err)
	}
	if _, err := readAt(fd, "cgroup"); !errors.Is(err, errNoProcess) {
		t.Fatalf("reaped child's cgroup: %v, want errNoProcess", err)
	}
}
