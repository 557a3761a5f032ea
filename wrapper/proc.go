package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// errNoProcess is readAt's error for a process that is gone.
var errNoProcess = errors.New("no such process")

// maxProcFile bounds what socker reads of one /proc file.
const maxProcFile = 64 << 10

// readAt reads the file name of the /proc/<pid> directory fd procDir. A
// process that is gone gives an error that is errNoProcess.
func readAt(procDir int, name string) ([]byte, error) {
	fd, err := unix.Openat(procDir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return nil, fmt.Errorf("%s: %w", name, errNoProcess)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxProcFile))
	if errors.Is(err, unix.ESRCH) {
		return nil, fmt.Errorf("%s: %w", name, errNoProcess)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

// readStatAt reads and parses stat of the /proc/<pid> directory fd procDir.
func readStatAt(procDir int) (ProcStat, error) {
	data, err := readAt(procDir, "stat")
	if err != nil {
		return ProcStat{}, err
	}
	s, err := ParseProcStat(data)
	if err != nil {
		return ProcStat{}, fmt.Errorf("malformed stat: %w", err)
	}
	return s, nil
}
