package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ProcStat is what socker reads of /proc/<pid>/stat (proc(5)): the state
// (field 3), the kernel flags (field 9) and the start time in clock ticks
// after boot (field 22), which with the pid names one process for good.
type ProcStat struct {
	State     byte
	Flags     uint64
	StartTime string // decimal, as the kernel prints it: compared, never computed with
}

// pfExiting is the kernel's PF_EXITING flag: set when a task begins to exit
// (before it leaves its v1 cgroups), never cleared.
const pfExiting = 0x4

// Exiting reports whether the process has begun to exit: PF_EXITING, or a
// zombie or dead state.
func (s ProcStat) Exiting() bool {
	return s.State == 'Z' || s.State == 'X' || s.Flags&pfExiting != 0
}

// Alive reports whether the process still runs (a zombie does not).
func (s ProcStat) Alive() bool { return s.State != 'Z' && s.State != 'X' }

// ParseProcStat parses the text of /proc/<pid>/stat. The command name (field
// 2) is in parentheses and may itself contain ") " and spaces: the fields
// are counted after its last ')'.
func ParseProcStat(data []byte) (ProcStat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return ProcStat{}, errors.New("no command name")
	}
	f := bytes.Fields(data[i+1:])
	// f[0] is field 3 (state), f[6] field 9 (flags), f[19] field 22.
	if len(f) < 20 {
		return ProcStat{}, fmt.Errorf("%d fields after the command name, want at least 20", len(f))
	}
	if len(f[0]) != 1 {
		return ProcStat{}, fmt.Errorf("state %q", f[0])
	}
	flags, err := strconv.ParseUint(string(f[6]), 10, 64)
	if err != nil {
		return ProcStat{}, fmt.Errorf("flags %q", f[6])
	}
	start := string(f[19])
	if _, err := strconv.ParseUint(start, 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("start time %q", start)
	}
	return ProcStat{State: f[0][0], Flags: flags, StartTime: start}, nil
}

// errNoProcess is readProcStat's error for a process that is gone.
var errNoProcess = errors.New("no such process")

// readProcStat reads and parses /proc/<pid>/stat ("self" for socker). A
// process that is gone gives an error that is errNoProcess.
func readProcStat(pid string) (ProcStat, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return ProcStat{}, fmt.Errorf("/proc/%s/stat: %w", pid, errNoProcess)
	}
	if err != nil {
		return ProcStat{}, err
	}
	s, err := ParseProcStat(data)
	if err != nil {
		return ProcStat{}, fmt.Errorf("malformed /proc/%s/stat: %w", pid, err)
	}
	return s, nil
}

// self identifies this wrapper process for socker gc (see Wrapper).
func self() Wrapper {
	w := Wrapper{PID: os.Getpid()}
	if s, err := readProcStat("self"); err == nil {
		w.Start = s.StartTime
	}
	w.PidNS, _ = os.Readlink("/proc/self/ns/pid")
	return w
}
