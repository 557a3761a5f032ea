package security

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Record is one audit event: a JSON object on one line. Control characters in
// any field are escaped by encoding/json, so no field can forge a line.
// Write bounds what a record holds (see boundRecord): a string the caller
// controls is cut to 4 KiB, the command to 64 arguments, the whole record to
// 64 KiB (its groups, which root sets, aside); the command_* fields describe
// the full command whatever was cut, so that an admin can still tell what
// ran: command_sha256 is the output of `printf '%s\0' ARG... | sha256sum`.
type Record struct {
	Time             string       `json:"time"`  // RFC 3339, UTC
	Event            string       `json:"event"` // "deny", "error", "start", "exit" or "explain"
	Reason           string       `json:"reason,omitempty"`
	Message          string       `json:"message,omitempty"`
	UID              uint32       `json:"uid"`
	GID              uint32       `json:"gid"`
	Groups           []uint32     `json:"groups"`
	User             string       `json:"user"`
	Host             string       `json:"host"`
	PID              int          `json:"pid"`                     // socker's, in its own pid namespace
	HostPID          int          `json:"host_pid,omitempty"`      // socker's, as Docker's side of the node numbers it
	Launch           string       `json:"launch,omitempty"`        // the run's launch id: its staging directory, its container's socker.launch label
	DockerMountNS    string       `json:"docker_mnt_ns,omitempty"` // the mount namespace in which Docker resolves the staged paths (Bound)
	Image            string       `json:"image,omitempty"`
	ImageID          string       `json:"image_id,omitempty"`
	Command          []string     `json:"command,omitempty"`
	CommandArgs      int          `json:"command_args,omitempty"`   // set by Write: the full command's number of arguments,
	CommandBytes     int64        `json:"command_bytes,omitempty"`  // their total length in bytes,
	CommandSHA256    string       `json:"command_sha256,omitempty"` // and the hex sha256 of each followed by a NUL byte
	Mounts           []Mount      `json:"mounts,omitempty"`
	Bound            []BoundMount `json:"bound,omitempty"` // what each user mount's Docker source is: a staged clone of the object checked
	Cgroup           string       `json:"cgroup,omitempty"`
	MesosContainerID string       `json:"mesos_container_id,omitempty"`
	ContainerID      string       `json:"container_id,omitempty"`
	CgroupVerified   *bool        `json:"cgroup_verified,omitempty"`
	ExitStatus       *int         `json:"exit_status,omitempty"`
	DurationMS       *int64       `json:"duration_ms,omitempty"`
	Version          string       `json:"version"`
	ConfigHash       string       `json:"config_hash,omitempty"`
	SeccompHash      string       `json:"seccomp_hash,omitempty"` // sha256 of container.seccomp_profile's file; unset: Docker's built-in profile
	Truncated        bool         `json:"truncated,omitempty"`    // Write cut a string (ending it in "…") or left out arguments or mounts
}

// Bounds of one record (Write). Strings are measured as JSON-encoded.
const (
	maxString   = 4 << 10  // one string
	maxArgs     = 64       // arguments of the command kept
	maxRecord   = 64 << 10 // the whole line, groups aside
	recordFixed = 2 << 10  // keys, numbers and punctuation of the record's own fields
	// Charged per kept argument or mount besides its strings: quotes,
	// commas, a mount's keys and booleans.
	argOverhead   = 3
	mountOverhead = 64
)

// cutMark ends a string Write cut.
const cutMark = "…"

// BoundMount is what socker gave Docker for the user mount Mounts[Mount]:
// a clone, at Staged (root-only), of the object opened and checked as the
// caller, whose device and inode were Dev and Ino.
type BoundMount struct {
	Mount  int    `json:"mount"`
	Staged string `json:"staged"`
	Dev    uint64 `json:"dev"`
	Ino    uint64 `json:"ino"`
}

// AuditLog appends records to the root-owned audit file. It is opened as root
// before the privilege drop and its fd is close-on-exec.
type AuditLog struct {
	f *os.File
}

// auditLockWait bounds how long Write waits for the log's lock, which
// another socker holds only while it appends one record. A holder stopped
// (SIGSTOP: the caller may signal their own socker) must not stop every
// other user's: past the wait Write appends without the lock (see
// appendLine).
var auditLockWait = 2 * time.Second

// writeFD is write(2); tests replace it to make short writes.
var writeFD = unix.Write

// OpenAudit opens (creating with mode 0600 if needed) the audit file at path.
// The directory must already exist (the installation creates it); the file
// must be a regular file owned by root, not a symlink. A file it creates is
// given group root: a setuid process creates files with the caller's gid.
// The fd can also read, for Write to see how the file ends.
func OpenAudit(path string) (*AuditLog, error) {
	dir := filepath.Dir(path)
	var dst unix.Stat_t
	if err := unix.Lstat(dir, &dst); err != nil {
		return nil, fmt.Errorf("audit log %s: directory %s: %w (create it: root, mode 0700)", path, dir, err)
	}
	if dst.Mode&unix.S_IFMT != unix.S_IFDIR || dst.Uid != 0 || dst.Mode&0o022 != 0 {
		return nil, fmt.Errorf("audit log %s: directory %s must be a directory owned by root and not writable by group or others", path, dir)
	}
	f, created, err := openLog(path)
	if err != nil {
		return nil, fmt.Errorf("opening audit log %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("checking audit log %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != 0 || st.Mode&0o022 != 0 {
		f.Close()
		return nil, fmt.Errorf("audit log %s must be a regular file owned by root and not writable by group or others", path)
	}
	if created && st.Gid != 0 {
		if err := unix.Fchown(int(f.Fd()), 0, 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("giving the new audit log %s to group root: %w", path, err)
		}
	}
	return &AuditLog{f: f}, nil
}

// openLog opens path to append, without following a symlink, creating it
// (mode 0600) if it does not exist; created says whether this call did.
func openLog(path string) (f *os.File, created bool, err error) {
	const flags = os.O_RDWR | os.O_APPEND | unix.O_NOFOLLOW | unix.O_NONBLOCK
	f, err = os.OpenFile(path, flags, 0)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, false, err
	}
	f, err = os.OpenFile(path, flags|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another socker created it first (or it is a dangling symlink,
		// which O_NOFOLLOW refuses).
		f, err = os.OpenFile(path, flags, 0)
		return f, false, err
	}
	return f, err == nil, err
}

// Write stamps r with the current UTC time, bounds it (boundRecord) and
// appends it as one line with a single write(2), holding an exclusive
// flock(2) on the log so that socker processes append one at a time. The
// line is written whole or not at all:
//   - a line another writer left unterminated (a crash, a process killed in
//     the middle of its write) is ended first, so no record is glued to it;
//   - a record that would pass the process's RLIMIT_FSIZE (which the caller
//     can lower after the privilege drop) is not written;
//   - a short write is undone (truncated away), or else ended with a newline.
//
// Any error is returned: callers fail closed.
func (a *AuditLog) Write(r Record) error {
	r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	line, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	if err := a.appendLine(line); err != nil {
		return fmt.Errorf("writing audit record to %s: %w", a.f.Name(), err)
	}
	return nil
}

// appendLine appends line (which ends in a newline) under the log's lock.
// If the lock cannot be had within auditLockWait, it appends anyway: a
// single O_APPEND write(2) is never interleaved with another, and the line
// is then always preceded by a newline, so it cannot be glued to a
// fragment (at worst the log gains an empty line); nothing is truncated.
func (a *AuditLog) appendLine(line []byte) error {
	fd := int(a.f.Fd())
	locked := lockWithin(fd, auditLockWait) == nil
	if locked {
		defer unix.Flock(fd, unix.LOCK_UN)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("checking the log's size: %w", err)
	}
	end := st.Size
	ended := true // the log ends in a newline (or is empty)
	if end > 0 {
		last := []byte{0}
		if _, err := unix.Pread(fd, last, end-1); err != nil {
			return fmt.Errorf("reading the log's last byte: %w", err)
		}
		ended = last[0] == '\n'
	}
	if !ended || !locked {
		line = append([]byte{'\n'}, line...)
	}
	var fsize unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &fsize); err != nil {
		return fmt.Errorf("reading RLIMIT_FSIZE: %w", err)
	}
	if fsize.Cur != unix.RLIM_INFINITY && uint64(end)+uint64(len(line)) > fsize.Cur {
		return fmt.Errorf("not written: %d bytes at offset %d would pass this process's file-size limit (RLIMIT_FSIZE, %d bytes)", len(line), end, fsize.Cur)
	}
	n, err := writeFD(fd, line)
	if err == nil && n == len(line) {
		return nil
	}
	if err == nil {
		err = io.ErrShortWrite
	}
	return fmt.Errorf("wrote %d of %d bytes (%w); %s", max(n, 0), len(line), err, undoPartial(fd, end, n, locked))
}

// undoPartial removes the n bytes of a partial line written at offset end,
// if the log is locked and still ends there; else it ends the line with a
// newline. It says what it did.
func undoPartial(fd int, end int64, n int, locked bool) string {
	if n <= 0 {
		return "nothing was written"
	}
	var st unix.Stat_t
	if locked && unix.Fstat(fd, &st) == nil && st.Size == end+int64(n) && unix.Ftruncate(fd, end) == nil {
		return "the partial record was removed"
	}
	if m, err := unix.Write(fd, []byte{'\n'}); err == nil && m == 1 {
		return "the partial record was ended with a newline"
	}
	return "the partial record is unterminated; the next record will end it"
}

// lockWithin takes an exclusive flock on fd, waiting at most wait.
func lockWithin(fd int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("locking the log: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("another process has held the log's lock for over %v (a stopped socker? see /proc/locks)", wait)
		}
		time.Sleep(delay)
	}
}

// encodeRecord returns r, bounded, as one JSON line ending in a newline.
// '<', '>' and '&' are not HTML-escaped (which would make each six bytes).
func encodeRecord(r Record) ([]byte, error) {
	if r.Groups == nil {
		r.Groups = []uint32{}
	}
	if len(r.Command) > 0 {
		r.CommandArgs, r.CommandBytes, r.CommandSHA256 = commandDigest(r.Command)
	}
	r = boundRecord(r)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// commandDigest describes a full command: its argument count, total length
// in bytes, and the hex sha256 of each argument followed by a NUL (an
// argument cannot hold one).
func commandDigest(command []string) (args int, size int64, sum string) {
	h := sha256.New()
	for _, a := range command {
		size += int64(len(a))
		io.WriteString(h, a)
		h.Write([]byte{0})
	}
	return len(command), size, hex.EncodeToString(h.Sum(nil))
}

// boundRecord returns r with its strings cut to maxString each and all its
// strings, arguments and mounts together to what fits in maxRecord (groups
// aside), in this order: the single fields, the mounts, the command. It
// sets Truncated when it cut or left out anything. r's slices are not
// modified.
func boundRecord(r Record) Record {
	b := bounder{left: maxRecord - recordFixed}
	for _, s := range []*string{&r.Time, &r.Event, &r.Reason, &r.Message, &r.User, &r.Host, &r.Image, &r.ImageID,
		&r.CommandSHA256, &r.Cgroup, &r.MesosContainerID, &r.ContainerID, &r.Version, &r.ConfigHash, &r.SeccompHash} {
		*s = b.str(*s)
	}
	if r.Mounts != nil {
		mounts := make([]Mount, 0, len(r.Mounts))
		for _, m := range r.Mounts {
			if !b.take(mountOverhead) {
				break
			}
			m.Source, m.Target = b.str(m.Source), b.str(m.Target)
			mounts = append(mounts, m)
		}
		r.Mounts = mounts
	}
	if r.Command != nil {
		command := make([]string, 0, min(len(r.Command), maxArgs))
		for i, a := range r.Command {
			if i == maxArgs || !b.take(argOverhead) {
				b.cut = true
				break
			}
			command = append(command, b.str(a))
		}
		r.Command = command
	}
	r.Truncated = r.Truncated || b.cut
	return r
}

// bounder hands out a record's budget of JSON-encoded bytes.
type bounder struct {
	left int  // bytes left
	cut  bool // something was cut or left out
}

// take charges n bytes if they are left; otherwise it notes that
// something is left out.
func (b *bounder) take(n int) bool {
	if n > b.left {
		b.cut = true
		return false
	}
	b.left -= n
	return true
}

// str returns s, or its longest prefix (of whole characters) that, with
// cutMark, encodes in at most maxString bytes and what is left; it charges
// what it returns.
func (b *bounder) str(s string) string {
	limit := min(maxString, b.left)
	size, i := 0, 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if size+jsonSize(r, n) > limit {
			break
		}
		size += jsonSize(r, n)
		i += n
	}
	if i == len(s) {
		b.left -= size
		return s
	}
	b.cut = true
	// Back off until the mark fits too.
	for i > 0 && size+len(cutMark) > limit {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		size -= jsonSize(r, n)
		i -= n
	}
	if size+len(cutMark) > limit {
		return ""
	}
	b.left -= size + len(cutMark)
	return s[:i] + cutMark
}

// jsonSize is at least the number of bytes encoding/json (without HTML
// escaping) writes for the character r, n bytes long in the string.
func jsonSize(r rune, n int) int {
	switch {
	case r == utf8.RuneError && n == 1:
		return len(`\ufffd`) // an invalid byte
	case r == '"' || r == '\\':
		return 2
	case r < 0x20, r == '\u2028', r == '\u2029':
		return len(`\u0000`)
	}
	return n
}

// Close closes the audit file.
func (a *AuditLog) Close() error { return a.f.Close() }
