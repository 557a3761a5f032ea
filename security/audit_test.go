package security

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// openTestAudit returns an audit log on a new file. As root it goes through
// OpenAudit, as the installation does; as any other user OpenAudit must
// refuse the (non-root-owned) file, so the log is built on a plain fd.
func openTestAudit(t *testing.T) (*AuditLog, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.log")
	if os.Geteuid() == 0 {
		a, err := OpenAudit(p)
		if err != nil {
			t.Fatalf("OpenAudit as root: %v", err)
		}
		return a, p
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return &AuditLog{f: f}, p
}

func TestAuditWrite(t *testing.T) {
	a, p := openTestAudit(t)
	const forged = "\n{\"event\":\"start\"}\r\x1b[2J"
	status := 3
	verified := true
	recs := []Record{
		{
			Event: "deny", Reason: "image-not-allowed", Message: forged,
			UID: 1500, GID: 1500, User: "alice", Host: "node1", PID: 42,
			Image: "ubuntu" + forged, Command: []string{"sh", "-c", forged},
			Version: "test", ConfigHash: "sha256:" + strings.Repeat("0", 64),
		},
		{
			Event: "exit", UID: 1500, GID: 1500, Groups: []uint32{1500, 1501}, User: "alice",
			Mounts:     []Mount{{Source: "/scratch/a" + forged, Target: "/data", ReadOnly: true}},
			ExitStatus: &status, CgroupVerified: &verified, Version: "test",
		},
	}
	before := time.Now().UTC().Add(-time.Second)
	for _, r := range recs {
		if err := a.Write(r); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte("\n")); n != 2 || !bytes.HasSuffix(data, []byte("\n")) {
		t.Fatalf("audit file has %d newlines, want exactly 2 lines:\n%s", n, data)
	}
	if bytes.ContainsAny(data, "\r\x1b") {
		t.Errorf("audit file contains a raw control character:\n%q", data)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, line := range lines {
		t.Run(recs[i].Event, func(t *testing.T) {
			if !json.Valid([]byte(line)) {
				t.Fatalf("line %d is not valid JSON: %s", i, line)
			}
			var got Record
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decoding line %d: %v", i, err)
			}
			if !strings.HasSuffix(got.Time, "Z") {
				t.Errorf("time %q does not end in Z", got.Time)
			}
			ts, err := time.Parse(time.RFC3339, got.Time)
			if err != nil {
				t.Errorf("time %q is not RFC 3339: %v", got.Time, err)
			} else if ts.Location() != time.UTC || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
				t.Errorf("time %v is not now in UTC", ts)
			}
			want := recs[i]
			want.Time = got.Time
			if want.Groups == nil {
				want.Groups = []uint32{} // always present, never null
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(line), &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"time", "event", "uid", "gid", "groups", "user", "host", "pid", "version"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("key %q missing from %s", k, line)
				}
			}
			if g, ok := raw["groups"].([]any); !ok || g == nil {
				t.Errorf("groups is %v, want a JSON array", raw["groups"])
			}
		})
	}
	var first Record
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Message != forged || first.Command[2] != forged {
		t.Errorf("forged field did not round-trip: %q", first.Message)
	}
}

func TestAuditWriteAppends(t *testing.T) {
	a, p := openTestAudit(t)
	if err := a.Write(Record{Event: "start"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	var b *AuditLog
	if os.Geteuid() == 0 {
		var err error
		if b, err = OpenAudit(p); err != nil {
			t.Fatal(err)
		}
	} else {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		b = &AuditLog{f: f}
	}
	if err := b.Write(Record{Event: "exit"}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	data, _ := os.ReadFile(p)
	if n := bytes.Count(data, []byte("\n")); n != 2 {
		t.Errorf("reopened log has %d lines, want 2 (append, not truncate):\n%s", n, data)
	}
}

func TestAuditWriteClosedFails(t *testing.T) {
	a, _ := openTestAudit(t)
	a.Close()
	if err := a.Write(Record{Event: "start"}); err == nil {
		t.Error("Write on a closed log succeeded; callers must be able to fail closed")
	}
}

func TestOpenAudit(t *testing.T) {
	const ownerMsg = "must be a regular file owned by root"
	asRoot := os.Geteuid() == 0

	t.Run("new file: created 0600 and accepted only as root", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "audit.log")
		a, err := OpenAudit(p)
		if asRoot {
			if err != nil {
				t.Fatalf("OpenAudit as root: %v", err)
			}
			a.Close()
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("created with mode %v, want 0600", st.Mode().Perm())
			}
			return
		}
		if err == nil {
			a.Close()
			t.Fatalf("OpenAudit as uid %d accepted a file it owns", os.Geteuid())
		}
		if !strings.Contains(err.Error(), ownerMsg) || !strings.Contains(err.Error(), p) {
			t.Errorf("error %q should contain %q and the path", err, ownerMsg)
		}
	})

	t.Run("file not owned by root refused", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "audit.log")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		notRootOwned(t, p)
		a, err := OpenAudit(p)
		if err == nil {
			a.Close()
			t.Fatal("OpenAudit accepted a file not owned by root")
		}
		if !strings.Contains(err.Error(), ownerMsg) {
			t.Errorf("error %q should contain %q", err, ownerMsg)
		}
	})

	t.Run("group-writable file refused", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "audit.log")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o620); err != nil {
			t.Fatal(err)
		}
		a, err := OpenAudit(p)
		if err == nil {
			a.Close()
			t.Fatal("OpenAudit accepted a group-writable file")
		}
		if !strings.Contains(err.Error(), ownerMsg) {
			t.Errorf("error %q should contain %q", err, ownerMsg)
		}
	})

	t.Run("symlink refused", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "real.log")
		if err := os.WriteFile(target, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "audit.log")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		a, err := OpenAudit(link)
		if err == nil {
			a.Close()
			t.Fatal("OpenAudit followed a symlink")
		}
		if !strings.Contains(err.Error(), link) {
			t.Errorf("error %q does not name %s", err, link)
		}
	})

	t.Run("dangling symlink refused and not created", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "created-through-link")
		link := filepath.Join(dir, "audit.log")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		a, err := OpenAudit(link)
		if err == nil {
			a.Close()
			t.Fatal("OpenAudit followed a dangling symlink")
		}
		if _, err := os.Lstat(target); err == nil {
			t.Errorf("OpenAudit created %s through the symlink", target)
		}
	})

	t.Run("missing directory is an error naming the path", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nope", "audit.log")
		_, err := OpenAudit(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("OpenAudit(missing dir) error = %v, want one naming %s", err, p)
		}
	})

	t.Run("directory refused", func(t *testing.T) {
		_, err := OpenAudit(t.TempDir())
		if err == nil {
			t.Error("OpenAudit accepted a directory")
		}
	})
}
