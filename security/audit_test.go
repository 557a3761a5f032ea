package security

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
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
	f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return &AuditLog{f: f}, p
}

// openStartedAudit returns, as openTestAudit, a log holding one start
// record, and the log's bytes.
func openStartedAudit(t *testing.T) (*AuditLog, string, []byte) {
	t.Helper()
	a, p := openTestAudit(t)
	if err := a.Write(Record{Event: "start"}); err != nil {
		t.Fatal(err)
	}
	return a, p, readLog(t, p)
}

// logLink makes audit.log, beside target, a symlink to target and returns
// the link's path.
func logLink(t *testing.T, target string) string {
	t.Helper()
	link := filepath.Join(filepath.Dir(target), "audit.log")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// openRefused calls OpenAudit(p), which must fail: if it does not, the test
// fails with "OpenAudit " + what. It returns the error.
func openRefused(t *testing.T, p, what string) error {
	t.Helper()
	a, err := OpenAudit(p)
	if err == nil {
		a.Close()
		t.Fatal("OpenAudit " + what)
	}
	return err
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
			if len(want.Command) > 0 {
				want.CommandArgs, want.CommandBytes, want.CommandSHA256 = len(want.Command), int64(len(strings.Join(want.Command, ""))), nulSHA256(want.Command...)
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

// nulSHA256 is what `printf '%s\0' args... | sha256sum` prints.
func nulSHA256(args ...string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteString(a + "\x00")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
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
		f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
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

	t.Run("new file: created 0:0 mode 0600 and accepted only as root", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "audit.log")
		if asRoot {
			// As setuid socker runs: euid 0, egid the caller's.
			if err := syscall.Setegid(65534); err != nil {
				t.Fatal(err)
			}
		}
		a, err := OpenAudit(p)
		if asRoot {
			if err := syscall.Setegid(0); err != nil {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatalf("OpenAudit as root: %v", err)
			}
			a.Close()
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&0o7777 != 0o600 || st.Uid != 0 || st.Gid != 0 {
				t.Errorf("created %d:%d mode %o, want 0:0 mode 0600", st.Uid, st.Gid, st.Mode&0o7777)
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

	t.Run("existing file keeps its group (the admin's)", func(t *testing.T) {
		p := writeTemp(t, "audit.log", "", 0o640)
		if !asRoot {
			// Refused: the file (and the temporary directory) are not root's.
			if a, err := OpenAudit(p); err == nil {
				a.Close()
				t.Errorf("OpenAudit accepted a file uid %d owns", os.Geteuid())
			}
			return
		}
		if err := os.Chown(p, 0, 4); err != nil {
			t.Fatal(err)
		}
		a, err := OpenAudit(p)
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Gid != 4 {
			t.Errorf("the admin's group 4 became %d", st.Gid)
		}
	})

	for _, c := range []struct {
		name, what string
		spoil      func(t *testing.T, p string)
	}{
		{"file not owned by root refused", "accepted a file not owned by root", notRootOwned},
		{"group-writable file refused", "accepted a group-writable file", func(t *testing.T, p string) {
			if err := os.Chmod(p, 0o620); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeTemp(t, "audit.log", "", 0o600)
			c.spoil(t, p)
			err := openRefused(t, p, c.what)
			if !strings.Contains(err.Error(), ownerMsg) {
				t.Errorf("error %q should contain %q", err, ownerMsg)
			}
		})
	}

	t.Run("symlink refused", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "real.log")
		if err := os.WriteFile(target, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		link := logLink(t, target)
		err := openRefused(t, link, "followed a symlink")
		if !strings.Contains(err.Error(), link) {
			t.Errorf("error %q does not name %s", err, link)
		}
	})

	t.Run("dangling symlink refused and not created", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "created-through-link")
		link := logLink(t, target)
		openRefused(t, link, "followed a dangling symlink")
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

// readLog returns the log's bytes.
func readLog(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// assertWholeLines fails unless data is complete lines, each a JSON object.
func assertWholeLines(t *testing.T, data []byte) {
	t.Helper()
	if len(data) > 0 && !bytes.HasSuffix(data, []byte("\n")) {
		t.Errorf("log does not end in a newline: %q", data)
	}
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("line %d is not a JSON record: %q", i+1, l)
		}
	}
}

func TestAuditWriteEndsAFragment(t *testing.T) {
	for _, c := range []struct {
		name, before, wantPrefix string
	}{
		{"empty log", "", ""},
		{"whole line", "{}\n", "{}\n"},
		{"fragment", `{"event":"de`, "{\"event\":\"de\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, p := openTestAudit(t)
			defer a.Close()
			if err := os.WriteFile(p, []byte(c.before), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := a.Write(Record{Event: "deny", UID: 1500}); err != nil {
				t.Fatal(err)
			}
			data := string(readLog(t, p))
			rest, ok := strings.CutPrefix(data, c.wantPrefix)
			if !ok || strings.Count(rest, "\n") != 1 || !strings.HasSuffix(rest, "\n") || !json.Valid([]byte(rest)) {
				t.Errorf("log %q, want %q then one whole record", data, c.wantPrefix)
			}
		})
	}
}

// withFileSizeLimit lowers this process's soft RLIMIT_FSIZE for the test.
func withFileSizeLimit(t *testing.T, limit uint64) {
	t.Helper()
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuditWriteFileSizeLimit(t *testing.T) {
	for _, c := range []struct {
		name  string
		room  int64 // bytes the limit leaves after the first record
		fails bool
	}{
		{"no room", 0, true},
		{"room for part of a record", 100, true},
		{"room for the record", 64 << 10, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, p, before := openStartedAudit(t)
			defer a.Close()
			withFileSizeLimit(t, uint64(int64(len(before))+c.room))
			err := a.Write(Record{Event: "deny", Message: strings.Repeat("x", 300)})
			after := readLog(t, p)
			assertWholeLines(t, after)
			if !c.fails {
				if err != nil || bytes.Count(after, []byte("\n")) != 2 {
					t.Errorf("Write: %v; log %q", err, after)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "RLIMIT_FSIZE") || !strings.Contains(err.Error(), p) {
				t.Errorf("Write error %v, want one naming RLIMIT_FSIZE and the log", err)
			}
			if !bytes.Equal(after, before) {
				t.Errorf("the log changed:\n%q\nwant\n%q", after, before)
			}
		})
	}
}

func TestAuditWriteShortWriteUndone(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"short write", nil},
		{"write error after part", unix.EFBIG},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, p, before := openStartedAudit(t)
			defer a.Close()
			writeFD = func(fd int, b []byte) (int, error) {
				n, err := unix.Write(fd, b[:len(b)/2])
				if err != nil {
					return n, err
				}
				return n, c.err
			}
			defer func() { writeFD = unix.Write }()
			err := a.Write(Record{Event: "exit"})
			if err == nil || !strings.Contains(err.Error(), "the partial record was removed") {
				t.Errorf("Write error %v, want it to say the partial record was removed", err)
			}
			after := readLog(t, p)
			assertWholeLines(t, after)
			if !bytes.Equal(after, before) {
				t.Errorf("the log is\n%q\nwant it as before\n%q", after, before)
			}
		})
	}
}

func TestAuditWriteWaitsForTheLock(t *testing.T) {
	a, p := openTestAudit(t)
	defer a.Close()
	other, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	old := auditLockWait
	auditLockWait = 200 * time.Millisecond
	defer func() { auditLockWait = old }()

	// A holder that never lets go (a stopped socker) does not stop the
	// others: past the wait the record is appended, after a newline, so
	// that it cannot be glued to whatever the holder leaves.
	if err := a.Write(Record{Event: "deny"}); err != nil {
		t.Errorf("Write while another holds the lock: %v", err)
	}
	if data := readLog(t, p); !bytes.HasPrefix(data, []byte("\n{")) || bytes.Count(data, []byte("\n")) != 2 {
		t.Errorf("log %q, want a newline and the record", data)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		unix.Flock(int(other.Fd()), unix.LOCK_UN)
	}()
	if err := a.Write(Record{Event: "deny"}); err != nil {
		t.Errorf("Write once the lock is released: %v", err)
	}
	if data := readLog(t, p); bytes.Count(data, []byte("\n")) != 3 || bytes.HasSuffix(data, []byte("\n\n")) {
		t.Errorf("log %q, want the second record right after the first", data)
	}
}

func TestJSONSize(t *testing.T) {
	for _, s := range []string{
		"plain", `"quoted\"`, "<html>&amp;", "tab\tnew\nline\r", "\x00\x01\x1f\x7f", "\u2028\u2029",
		"héllo wörld ☃ 𝄞", "\xff\xfe invalid", "\xe2\x82", strings.Repeat("<", 100),
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		encoded := buf.Len() - len(`""`+"\n")
		size := 0
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			size += jsonSize(r, n)
			i += n
		}
		if size < encoded {
			t.Errorf("jsonSize(%q) = %d, less than encoding/json's %d", s, size, encoded)
		}
	}
}

func TestBoundRecord(t *testing.T) {
	long := strings.Repeat("<", 128<<10)
	manyArgs := make([]string, 1000)
	for i := range manyArgs {
		manyArgs[i] = "arg" + strings.Repeat("\x00", 10)
	}
	hugeArgs := make([]string, 45)
	for i := range hugeArgs {
		hugeArgs[i] = long
	}
	var hugeMounts []Mount
	for range 64 {
		hugeMounts = append(hugeMounts, Mount{Source: "/scratch/" + strings.Repeat("d/", 2000), Target: "/" + strings.Repeat("\xff", 4000)})
	}
	cases := []struct {
		name      string
		r         Record
		truncated bool
		check     func(t *testing.T, got Record)
	}{
		{"a small record is unchanged", Record{Event: "start", Message: "ok", Command: []string{"sh", "-c", "echo <hi> & bye"},
			Mounts: []Mount{{Source: "/a", Target: "/b"}}}, false, func(t *testing.T, got Record) {
			if got.Command[2] != "echo <hi> & bye" || got.Mounts[0].Source != "/a" {
				t.Errorf("changed: %+v", got)
			}
		}},
		{"a long message is cut to 4 KiB", Record{Message: long}, true, func(t *testing.T, got Record) {
			if !strings.HasSuffix(got.Message, cutMark) || len(got.Message) > maxString || len(got.Message) < maxString-8 {
				t.Errorf("message of %d bytes ending %q", len(got.Message), got.Message[len(got.Message)-8:])
			}
		}},
		{"control characters count six bytes each", Record{Image: strings.Repeat("\x01", 1000)}, true, func(t *testing.T, got Record) {
			if n := len(got.Image) - len(cutMark); n > maxString/6 || n < maxString/6-1 {
				t.Errorf("kept %d control characters, want %d", n, maxString/6)
			}
		}},
		{"a cut never splits a character", Record{Cgroup: strings.Repeat("☃", 5000)}, true, func(t *testing.T, got Record) {
			if !utf8.ValidString(got.Cgroup) {
				t.Errorf("cut %q is not valid UTF-8", got.Cgroup[len(got.Cgroup)-10:])
			}
		}},
		{"at most 64 arguments", Record{Command: manyArgs}, true, func(t *testing.T, got Record) {
			if len(got.Command) != maxArgs || got.Command[0] != manyArgs[0] {
				t.Errorf("%d arguments, first %q", len(got.Command), got.Command[0])
			}
		}},
		{"huge arguments share the budget", Record{Command: hugeArgs}, true, func(t *testing.T, got Record) {
			if len(got.Command) == 0 || len(got.Command) >= len(hugeArgs) {
				t.Errorf("%d arguments kept", len(got.Command))
			}
		}},
		{"huge mounts and command", Record{Message: long, Image: long, Cgroup: long, Mounts: hugeMounts, Command: hugeArgs}, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := slices.Clone(c.r.Command)
			line, err := encodeRecord(c.r)
			if err != nil {
				t.Fatal(err)
			}
			if len(line) > maxRecord {
				t.Errorf("record of %d bytes, want at most %d", len(line), maxRecord)
			}
			if !slices.Equal(c.r.Command, orig) {
				t.Error("the caller's command slice was modified")
			}
			var got Record
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("%v: %.200s", err, line)
			}
			if got.Truncated != c.truncated {
				t.Errorf("truncated = %v, want %v", got.Truncated, c.truncated)
			}
			if len(c.r.Command) > 0 {
				if got.CommandArgs != len(c.r.Command) || got.CommandBytes != int64(len(strings.Join(c.r.Command, ""))) ||
					got.CommandSHA256 != nulSHA256(c.r.Command...) {
					t.Errorf("command_args %d command_bytes %d command_sha256 %s do not describe the full command",
						got.CommandArgs, got.CommandBytes, got.CommandSHA256)
				}
				for i, a := range got.Command {
					cut, ok := strings.CutSuffix(a, cutMark)
					if a != c.r.Command[i] && (!ok || !strings.HasPrefix(c.r.Command[i], cut)) {
						t.Errorf("argument %d is neither the original nor a prefix of it ending in %q", i, cutMark)
					}
				}
			}
			if c.check != nil {
				c.check(t, got)
			}
		})
	}
}

func TestEncodeRecordNoHTMLEscaping(t *testing.T) {
	line, err := encodeRecord(Record{Message: "<a> & <b>"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(line, []byte(`"message":"<a> & <b>"`)) {
		t.Errorf("line %s escapes '<', '>' or '&'", line)
	}
}

func TestCommandDigest(t *testing.T) {
	// printf '%s\0' sh -c 'echo hi' | sha256sum
	args, size, sum := commandDigest([]string{"sh", "-c", "echo hi"})
	if args != 3 || size != 11 || sum != "f22a05e0e6583b48404dc1b322c4af91bd42a2ae911497dd94f98eb79a1c38a9" {
		t.Errorf("commandDigest = %d, %d, %s", args, size, sum)
	}
}
