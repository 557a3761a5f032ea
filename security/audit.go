package security

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Record is one audit event: a JSON object on one line. Control characters in
// any field are escaped by encoding/json, so no field can forge a line.
type Record struct {
	Time             string   `json:"time"`  // RFC 3339, UTC
	Event            string   `json:"event"` // "deny", "error", "start", "exit" or "explain"
	Reason           string   `json:"reason,omitempty"`
	Message          string   `json:"message,omitempty"`
	UID              uint32   `json:"uid"`
	GID              uint32   `json:"gid"`
	Groups           []uint32 `json:"groups"`
	User             string   `json:"user"`
	Host             string   `json:"host"`
	PID              int      `json:"pid"`
	Image            string   `json:"image,omitempty"`
	ImageID          string   `json:"image_id,omitempty"`
	Command          []string `json:"command,omitempty"`
	Mounts           []Mount  `json:"mounts,omitempty"`
	Cgroup           string   `json:"cgroup,omitempty"`
	MesosContainerID string   `json:"mesos_container_id,omitempty"`
	ContainerID      string   `json:"container_id,omitempty"`
	CgroupVerified   *bool    `json:"cgroup_verified,omitempty"`
	ExitStatus       *int     `json:"exit_status,omitempty"`
	DurationMS       *int64   `json:"duration_ms,omitempty"`
	Version          string   `json:"version"`
	ConfigHash       string   `json:"config_hash,omitempty"`
}

// AuditLog appends records to the root-owned audit file. It is opened as root
// before the privilege drop and its fd is close-on-exec.
type AuditLog struct {
	f *os.File
}

// OpenAudit opens (creating with mode 0600 if needed) the audit file at path.
// The directory must already exist (the installation creates it); the file
// must be a regular file owned by root, not a symlink.
func OpenAudit(path string) (*AuditLog, error) {
	dir := filepath.Dir(path)
	var dst unix.Stat_t
	if err := unix.Lstat(dir, &dst); err != nil {
		return nil, fmt.Errorf("audit log %s: directory %s: %w (create it: root, mode 0700)", path, dir, err)
	}
	if dst.Mode&unix.S_IFMT != unix.S_IFDIR || dst.Uid != 0 || dst.Mode&0o022 != 0 {
		return nil, fmt.Errorf("audit log %s: directory %s must be a directory owned by root and not writable by group or others", path, dir)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0o600)
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
	return &AuditLog{f: f}, nil
}

// Write stamps r with the current UTC time and appends it as one line with a
// single write(2). Any error, including a short write, is returned: callers
// fail closed.
func (a *AuditLog) Write(r Record) error {
	r.Time = time.Now().UTC().Format(time.RFC3339Nano)
	if r.Groups == nil {
		r.Groups = []uint32{}
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding audit record: %w", err)
	}
	line = append(line, '\n')
	n, err := a.f.Write(line)
	if err == nil && n != len(line) {
		err = errors.New("short write")
	}
	if err != nil {
		return fmt.Errorf("writing audit record to %s: %w", a.f.Name(), err)
	}
	return nil
}

// Close closes the audit file.
func (a *AuditLog) Close() error { return a.f.Close() }
