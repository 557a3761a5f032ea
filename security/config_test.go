package security

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"
)

// exampleConfig is the site config used throughout the package's tests.
const exampleConfig = `[images]
allow = ["socker-test/tiny:1"]
[mounts]
allow = ["/scratch", "/home"]
[users]
min_uid = 1000
deny_groups = ["docker", "sudo", "disk", "adm"]
[container]
network = "none"
pids_limit = 4096
[audit]
path = "/var/log/socker/audit.log"
`

var hashRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// mustParse parses a config the test expects to be valid.
func mustParse(t testing.TB, s string) *Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(s))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg
}

// isOneLine reports whether msg is non-empty valid UTF-8 without a line break.
func isOneLine(msg string) bool {
	return msg != "" && utf8.ValidString(msg) && !strings.ContainsAny(msg, "\n\r")
}

// printableLine is stricter, for messages that can carry the caller's input:
// no control characters at all (line breaks, terminal escapes, NUL).
func printableLine(msg string) bool {
	return isOneLine(msg) && !strings.ContainsFunc(msg, unicode.IsControl)
}

// oneLineErr fails the test if err's message is empty or spans lines.
func oneLineErr(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("got no error")
	}
	if msg := err.Error(); !isOneLine(msg) {
		t.Errorf("error message is not one line: %q", msg)
	}
}

func TestParseConfigExample(t *testing.T) {
	cfg := mustParse(t, exampleConfig)
	want := Config{
		Images:    ImagesConfig{Allow: []string{"docker.io/socker-test/tiny:1"}},
		Mounts:    MountsConfig{Allow: []string{"/scratch", "/home"}},
		Users:     UsersConfig{MinUID: 1000, DenyGroups: []string{"docker", "sudo", "disk", "adm"}},
		Container: ContainerConfig{Network: "none", PidsLimit: 4096, StopGraceSeconds: 10},
		Audit:     AuditConfig{Path: "/var/log/socker/audit.log"},
	}
	got := *cfg
	got.Hash = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConfig(example):\n got %+v\nwant %+v", got, want)
	}
	if !hashRE.MatchString(cfg.Hash) {
		t.Errorf("Hash = %q, want sha256:<64 hex>", cfg.Hash)
	}
}

// defaultsWith returns DefaultConfig() as set changes it.
func defaultsWith(set func(c *Config)) Config {
	c := DefaultConfig()
	set(&c)
	return c
}

func TestParseConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want Config
	}{
		{"empty file gives all defaults", "", DefaultConfig()},
		{"only images and mounts: users, container and audit defaulted", "[images]\nallow = [\"ubuntu\"]\n[mounts]\nallow = [\"/scratch\"]\n",
			defaultsWith(func(c *Config) {
				c.Images.Allow = []string{"docker.io/library/ubuntu:latest"}
				c.Mounts.Allow = []string{"/scratch"}
			})},
		{"table present but keys omitted", "[users]\n[container]\n[audit]\n", DefaultConfig()},
		{"deny_groups given replaces the default list", "[users]\ndeny_groups = [\"docker\"]\n",
			defaultsWith(func(c *Config) { c.Users.DenyGroups = []string{"docker"} })},
		{"network host and stop_grace_seconds 0 accepted", "[container]\nnetwork = \"host\"\nstop_grace_seconds = 0\n",
			defaultsWith(func(c *Config) {
				c.Container.Network = "host"
				c.Container.StopGraceSeconds = 0
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, tt.toml)
			got := *cfg
			got.Hash = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	// The specific defaults the README promises.
	d := mustParse(t, "")
	if d.Container.Network != "none" || d.Container.PidsLimit != 4096 || d.Container.StopGraceSeconds != 10 ||
		d.Users.MinUID != 1000 || d.Audit.Path != "/var/log/socker/audit.log" {
		t.Errorf("defaults = %+v", d)
	}
	if len(d.Images.Allow) != 0 || len(d.Mounts.Allow) != 0 {
		t.Errorf("defaults allow something: images %v, mounts %v", d.Images.Allow, d.Mounts.Allow)
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want string // substring of the error
	}{
		{"unknown top-level key", "debug = true\n", `unknown key "debug"`},
		{"unknown top-level table", "[docker]\nsocket = \"/x\"\n", "unknown key"},
		{"unknown nested key images.pull", "[images]\npull = true\n", `unknown key "images.pull"`},
		{"unknown nested key users.allow_root", "[users]\nallow_root = true\n", `unknown key "users.allow_root"`},
		{"misspelled key container.pid_limit", "[container]\npid_limit = 10\n", `unknown key "container.pid_limit"`},
		{"wrong type min_uid string", "[users]\nmin_uid = \"1000\"\n", "parsing TOML"},
		{"wrong type allow not a list", "[images]\nallow = \"ubuntu\"\n", "parsing TOML"},
		{"wrong type network int", "[container]\nnetwork = 1\n", "parsing TOML"},
		{"wrong type images is a string", "images = \"ubuntu\"\n", "parsing TOML"},
		{"negative min_uid", "[users]\nmin_uid = -1\n", "parsing TOML"},
		{"min_uid overflows uint32", "[users]\nmin_uid = 4294967296\n", "parsing TOML"},
		{"invalid image ref uppercase", "[images]\nallow = [\"UBUNTU\"]\n", "images.allow"},
		{"invalid image ref option", "[images]\nallow = [\"--privileged\"]\n", "images.allow"},
		{"invalid image ref empty", "[images]\nallow = [\"\"]\n", "images.allow"},
		{"invalid image ref with escaped newline", "[images]\nallow = [\"A\\n{\\\"event\\\":\\\"start\\\"}\"]\n", "images.allow"},
		{"invalid image ref with terminal escape", "[images]\nallow = [\"A\\u001b[2J\"]\n", "images.allow"},
		{"invalid image ref short image id", "[images]\nallow = [\"sha256:abab\"]\n", "images.allow"},
		{"relative mount prefix", "[mounts]\nallow = [\"scratch\"]\n", "mounts.allow"},
		{"unclean mount prefix trailing slash", "[mounts]\nallow = [\"/scratch/\"]\n", "mounts.allow"},
		{"unclean mount prefix dotdot", "[mounts]\nallow = [\"/scratch/../etc\"]\n", "mounts.allow"},
		{"unclean mount prefix double slash", "[mounts]\nallow = [\"//scratch\"]\n", "mounts.allow"},
		{"root mount prefix", "[mounts]\nallow = [\"/\"]\n", "mounts.allow"},
		{"empty mount prefix", "[mounts]\nallow = [\"\"]\n", "mounts.allow"},
		{"min_uid 0", "[users]\nmin_uid = 0\n", "users.min_uid"},
		{"deny group empty", "[users]\ndeny_groups = [\"\"]\n", "users.deny_groups"},
		{"deny group with colon", "[users]\ndeny_groups = [\"a:b\"]\n", "users.deny_groups"},
		{"network bridge", "[container]\nnetwork = \"bridge\"\n", "container.network"},
		{"network empty", "[container]\nnetwork = \"\"\n", "container.network"},
		{"network container:x", "[container]\nnetwork = \"container:x\"\n", "container.network"},
		{"pids_limit 0", "[container]\npids_limit = 0\n", "container.pids_limit"},
		{"pids_limit negative", "[container]\npids_limit = -1\n", "container.pids_limit"},
		{"stop_grace_seconds negative", "[container]\nstop_grace_seconds = -1\n", "container.stop_grace_seconds"},
		{"stop_grace_seconds too large", "[container]\nstop_grace_seconds = 3601\n", "container.stop_grace_seconds"},
		{"relative audit path", "[audit]\npath = \"audit.log\"\n", "audit.path"},
		{"unclean audit path", "[audit]\npath = \"/var/log/../log/socker/audit.log\"\n", "audit.path"},
		{"empty audit path", "[audit]\npath = \"\"\n", "audit.path"},
		{"NUL byte", exampleConfig + "\x00", "NUL"},
		{"NUL byte inside a string", "[audit]\npath = \"/var/log/a\x00b\"\n", "NUL"},
		{"malformed TOML unterminated array", "[images]\nallow = [\n", "parsing TOML"},
		{"malformed TOML unterminated table", "[images\n", "parsing TOML"},
		{"malformed TOML duplicate key", "[users]\nmin_uid = 1000\nmin_uid = 2000\n", "parsing TOML"},
		{"malformed TOML duplicate table", "[users]\n[users]\n", "parsing TOML"},
		{"malformed TOML number before CRLF (parser echoes the CR)", "[users]\r\nmin_uid = 0b\r\n", "parsing TOML"},
		{"malformed TOML control character", "[users]\nmin_uid = 1\x1b[2J\n", "parsing TOML"},
		{"malformed TOML multi-line error", "[images]\nallow = [\"a\",\n\n\n\"b\" \"c\"]\n", "parsing TOML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.toml))
			if err == nil {
				t.Fatalf("ParseConfig(%q) = %+v, want error containing %q", tt.toml, cfg, tt.want)
			}
			if cfg != nil {
				t.Errorf("ParseConfig returned a config with the error: %+v", cfg)
			}
			oneLineErr(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseConfigHash(t *testing.T) {
	a := mustParse(t, exampleConfig)
	b := mustParse(t, exampleConfig)
	c := mustParse(t, exampleConfig+"# a comment changes the bytes, not the meaning\n")
	for _, h := range []string{a.Hash, c.Hash} {
		if !hashRE.MatchString(h) {
			t.Errorf("Hash = %q, want sha256:<64 hex>", h)
		}
	}
	if a.Hash != b.Hash {
		t.Errorf("same bytes, different hashes: %s, %s", a.Hash, b.Hash)
	}
	if a.Hash == c.Hash {
		t.Errorf("different bytes, same hash %s", a.Hash)
	}
	// sha256 of the exact bytes.
	if got, want := a.Hash, "sha256:"+sha256Hex([]byte(exampleConfig)); got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeConfig writes data to a new file in a temp dir with the given mode.
func writeConfig(t *testing.T, data string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(secureTempDir(t), "socker.toml")
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return p
}

// secureTempDir returns a new directory that, when the test runs as root,
// passes checkParents (every directory up to / root-owned and not writable by
// group or others: /run rather than the world-writable /tmp). As any other
// user it is an ordinary temporary directory.
func secureTempDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/run", "socker-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestLoadConfig_ParentDirectories(t *testing.T) {
	if os.Geteuid() != 0 {
		// Every temporary directory is owned by the test user.
		p := writeConfig(t, exampleConfig, 0o644)
		if err := checkParents("config", p); err == nil || !strings.Contains(err.Error(), "must be owned by root and not writable by group or others") {
			t.Fatalf("checkParents(%s) = %v, want a refusal", p, err)
		}
		return
	}
	p := writeConfig(t, exampleConfig, 0o644)
	dir := filepath.Dir(p)
	if _, err := LoadConfig(p); err != nil {
		t.Fatalf("LoadConfig in a root-owned 0755 directory: %v", err)
	}
	for _, c := range []struct {
		name   string
		break_ func() error
		fix    func() error
		says   string
	}{
		{"group-writable dir", func() error { return os.Chmod(dir, 0o775) }, func() error { return os.Chmod(dir, 0o755) }, "directory " + dir + " (holding config"},
		{"world-writable dir", func() error { return os.Chmod(dir, 0o757) }, func() error { return os.Chmod(dir, 0o755) }, "must be owned by root and not writable by group or others"},
		{"dir owned by a user", func() error { return os.Chown(dir, 65534, 65534) }, func() error { return os.Chown(dir, 0, 0) }, "directory " + dir},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.break_(); err != nil {
				t.Fatal(err)
			}
			defer c.fix()
			_, err := LoadConfig(p)
			if err == nil || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("LoadConfig = %v, want error containing %q", err, c.says)
			}
			oneLineErr(t, err)
		})
	}
	t.Run("symlinked parent", func(t *testing.T) {
		link := dir + "-link"
		if err := os.Symlink(dir, link); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(link)
		_, err := LoadConfig(filepath.Join(link, "socker.toml"))
		if err == nil || !strings.Contains(err.Error(), "must be a directory, not a symlink") {
			t.Fatalf("LoadConfig through a symlinked directory = %v", err)
		}
	})
}

// notRootOwned makes sure p is not owned by root: as root it is given to
// nobody (65534); as any other user it already belongs to that user.
func notRootOwned(t *testing.T, p string) {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid == 0 {
		t.Fatalf("%s is still owned by root", p)
	}
}

func TestLoadConfig(t *testing.T) {
	const ownerMsg = "must be owned by root and not writable by group or others"
	asRoot := os.Geteuid() == 0

	t.Run("symlink refused", func(t *testing.T) {
		target := writeConfig(t, exampleConfig, 0o644)
		link := filepath.Join(t.TempDir(), "link.toml")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(link)
		if err == nil {
			t.Fatalf("LoadConfig(symlink) = %+v, want error", cfg)
		}
		oneLineErr(t, err)
		if !strings.Contains(err.Error(), "symlink") || !strings.Contains(err.Error(), link) {
			t.Errorf("error %q should mention symlink and %s", err, link)
		}
	})

	t.Run("file not owned by root refused", func(t *testing.T) {
		p := writeConfig(t, exampleConfig, 0o644)
		notRootOwned(t, p)
		cfg, err := LoadConfig(p)
		if err == nil {
			t.Fatalf("LoadConfig = %+v, want error", cfg)
		}
		oneLineErr(t, err)
		if !strings.Contains(err.Error(), ownerMsg) || !strings.Contains(err.Error(), p) {
			t.Errorf("error %q should contain %q and the path", err, ownerMsg)
		}
	})

	t.Run("group-writable file refused", func(t *testing.T) {
		p := writeConfig(t, exampleConfig, 0o664)
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), ownerMsg) {
			t.Errorf("LoadConfig(mode 0664) error = %v, want %q", err, ownerMsg)
		}
	})

	t.Run("world-writable file refused", func(t *testing.T) {
		p := writeConfig(t, exampleConfig, 0o646)
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), ownerMsg) {
			t.Errorf("LoadConfig(mode 0646) error = %v, want %q", err, ownerMsg)
		}
	})

	t.Run("missing file names the path", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nope", "socker.toml")
		_, err := LoadConfig(p)
		if err == nil {
			t.Fatal("LoadConfig(missing) succeeded")
		}
		oneLineErr(t, err)
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %q does not wrap ENOENT", err)
		}
	})

	t.Run("directory refused", func(t *testing.T) {
		p := t.TempDir()
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("LoadConfig(dir) error = %v, want not a regular file", err)
		}
	})

	t.Run("fifo refused without blocking", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("LoadConfig(fifo) error = %v, want not a regular file", err)
		}
	})

	// A root-owned 0644 file loads as root; as any other user the same file
	// is owned by that user and must be refused.
	t.Run("root-owned 0644 file loads only when owned by root", func(t *testing.T) {
		p := writeConfig(t, exampleConfig, 0o644)
		cfg, err := LoadConfig(p)
		if !asRoot {
			if err == nil || !strings.Contains(err.Error(), ownerMsg) {
				t.Fatalf("LoadConfig(own file, uid %d) error = %v, want %q", os.Geteuid(), err, ownerMsg)
			}
			return
		}
		if err != nil {
			t.Fatalf("LoadConfig: %v", err)
		}
		if want := mustParse(t, exampleConfig); !reflect.DeepEqual(cfg, want) {
			t.Errorf("LoadConfig = %+v, want %+v", cfg, want)
		}
	})

	t.Run("invalid content names the path", func(t *testing.T) {
		p := writeConfig(t, "[images]\npull = true\n", 0o644)
		_, err := LoadConfig(p)
		if err == nil {
			t.Fatal("LoadConfig succeeded")
		}
		oneLineErr(t, err)
		want := "unknown key"
		if !asRoot {
			want = ownerMsg // ownership is checked before content
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
			t.Errorf("error %q should contain %q and %s", err, want, p)
		}
	})

	t.Run("file larger than 1 MiB refused", func(t *testing.T) {
		big := exampleConfig + "#" + string(bytes.Repeat([]byte("x"), maxConfigSize)) + "\n"
		p := writeConfig(t, big, 0o644)
		_, err := LoadConfig(p)
		want := "larger than"
		if !asRoot {
			want = ownerMsg
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig(big) error = %v, want %q", err, want)
		}
	})
}

// The config the package ships must stay valid, allow nothing, and otherwise
// be the defaults.
func TestPackagedConfigParses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "packaging", "socker.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatalf("packaging/socker.toml: %v", err)
	}
	want := DefaultConfig()
	want.Images.Allow = []string{}
	want.Mounts.Allow = []string{}
	want.Container.SeccompProfile = "/etc/socker/seccomp.json"
	got := *cfg
	got.Hash = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packaging/socker.toml:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseSeccompProfile(t *testing.T) {
	packaged, err := os.ReadFile(filepath.Join("..", "packaging", "seccomp", "seccomp.json"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ParseSeccompProfile(packaged); err != nil || bytes.ContainsAny(out, "\n\t") || !json.Valid(out) {
		t.Errorf("the packaged profile: %v (%d bytes, one line: %v)", err, len(out), !bytes.ContainsAny(out, "\n\t"))
	}
	for _, tt := range []struct {
		in, out, err string
	}{
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ ]}`, `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}`, ""},
		{`{"defaultAction":"SCMP_ACT_KILL_PROCESS"}`, `{"defaultAction":"SCMP_ACT_KILL_PROCESS"}`, ""},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}`, "", `defaultAction "SCMP_ACT_ALLOW" does not deny`},
		{`{"defaultAction":"SCMP_ACT_LOG"}`, "", `defaultAction "SCMP_ACT_LOG" does not deny`},
		{`{"defaultAction":"scmp_act_errno"}`, "", "does not deny"},
		{`{"syscalls":[]}`, "", "no defaultAction"},
		{`{"defaultAction":null}`, "", "no defaultAction"},
		{`{"defaultAction":7}`, "", "not a JSON seccomp profile"},
		{`[]`, "", "not a JSON seccomp profile"},
		{`unconfined`, "", "not a JSON seccomp profile"},
		{"{\"defaultAction\":\"SCMP_ACT_ERRNO\"}\n{}", "", "not a JSON seccomp profile"},
		{``, "", "not a JSON seccomp profile"},
	} {
		out, err := ParseSeccompProfile([]byte(tt.in))
		if tt.err == "" {
			if err != nil || string(out) != tt.out {
				t.Errorf("ParseSeccompProfile(%q) = %q, %v, want %q", tt.in, out, err, tt.out)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) || out != nil {
			t.Errorf("ParseSeccompProfile(%q) = %q, %v, want an error containing %q", tt.in, out, err, tt.err)
		} else {
			oneLineErr(t, err)
		}
	}
}

// LoadConfig reads container.seccomp_profile under the config's own rules
// (root's regular file in root's directories) and refuses, naming the key,
// whatever it cannot use.
func TestLoadConfig_SeccompProfile(t *testing.T) {
	dir := secureTempDir(t)
	if os.Geteuid() != 0 {
		// Every file is the test user's: refused as the config would be.
		p := filepath.Join(dir, "seccomp.json")
		os.WriteFile(p, []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}`), 0o644)
		if _, err := readRootFile("seccomp profile", p); err == nil || !strings.Contains(err.Error(), "must be owned by root") {
			t.Fatalf("readRootFile(%s) = %v, want a refusal", p, err)
		}
		return
	}
	profile := filepath.Join(dir, "seccomp.json")
	write := func(data string, mode os.FileMode) {
		t.Helper()
		os.Remove(profile)
		if err := os.WriteFile(profile, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(profile, mode); err != nil {
			t.Fatal(err)
		}
	}
	config := writeConfig(t, exampleConfig+"\n", 0o644)
	data, _ := os.ReadFile(config)
	text := strings.Replace(string(data), "[container]\n", "[container]\nseccomp_profile = \""+profile+"\"\n", 1)
	if text == string(data) {
		t.Fatal("the example config has no [container] section")
	}
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	const good = "{\n\t\"defaultAction\": \"SCMP_ACT_ERRNO\"\n}\n"
	write(good, 0o644)
	cfg, err := LoadConfig(config)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	sum := sha256.Sum256([]byte(good))
	if string(cfg.Seccomp) != `{"defaultAction":"SCMP_ACT_ERRNO"}` || cfg.SeccompHash != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("Seccomp %q SeccompHash %q", cfg.Seccomp, cfg.SeccompHash)
	}

	for _, c := range []struct {
		name  string
		setup func()
		says  string
	}{
		{"missing", func() { os.Remove(profile) }, "opening seccomp profile " + profile},
		{"group-writable", func() { write(good, 0o664) }, "seccomp profile " + profile + " must be owned by root"},
		{"owned by a user", func() { write(good, 0o644); os.Chown(profile, 65534, 65534) }, "must be owned by root"},
		{"a symlink", func() { os.Remove(profile); os.Symlink(config, profile) }, "is a symlink"},
		{"a directory", func() { os.Remove(profile); os.Mkdir(profile, 0o755) }, "is not a regular file"},
		{"allows by default", func() { os.Remove(profile); write(`{"defaultAction":"SCMP_ACT_ALLOW"}`, 0o644) }, "does not deny"},
		{"not JSON", func() { write("unconfined", 0o644) }, "not a JSON seccomp profile"},
		{"too large", func() {
			write(`{"defaultAction":"SCMP_ACT_ERRNO","x":"`+strings.Repeat("a", maxConfigSize)+`"}`, 0o644)
		}, "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.setup()
			cfg, err := LoadConfig(config)
			if err == nil || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), "container.seccomp_profile") {
				t.Fatalf("LoadConfig = %+v, %v, want an error naming container.seccomp_profile and containing %q", cfg, err, c.says)
			}
			oneLineErr(t, err)
		})
	}
	t.Run("world-writable directory", func(t *testing.T) {
		write(good, 0o644)
		if err := os.Chmod(dir, 0o757); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if _, err := LoadConfig(config); err == nil || !strings.Contains(err.Error(), "holding seccomp profile") {
			t.Fatalf("LoadConfig = %v, want a refusal of the profile's directory", err)
		}
	})
}
