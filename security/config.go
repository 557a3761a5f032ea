package security

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/sys/unix"
)

// Config is the site policy, read from the root-owned TOML file whose path is
// compiled into the binary. Every key is documented in ConfigKeys
// (configdoc.go), the source of socker.toml(5) and `socker help config`.
type Config struct {
	Images    ImagesConfig    `toml:"images"`
	Mounts    MountsConfig    `toml:"mounts"`
	Users     UsersConfig     `toml:"users"`
	Container ContainerConfig `toml:"container"`
	Cgroups   CgroupsConfig   `toml:"cgroups"`
	Audit     AuditConfig     `toml:"audit"`

	// Hash is the sha256 of the file's bytes, recorded in every audit line.
	Hash string `toml:"-"`
	// Seccomp is the profile Container.SeccompProfile names, compacted
	// (LoadConfig reads it; nil when the key is unset: Docker's own), and
	// SeccompHash the sha256 of the file's bytes, recorded beside Hash.
	Seccomp     []byte `toml:"-"`
	SeccompHash string `toml:"-"`
	// SiteMounts are Mounts.Site, parsed.
	SiteMounts []Mount `toml:"-"`
}

// ImagesConfig lists the images users may run.
type ImagesConfig struct {
	// Allow holds references, normalized on load ("ubuntu" becomes
	// "docker.io/library/ubuntu:latest"); "name@sha256:..." pins a digest.
	Allow []string `toml:"allow"`
}

// MountsConfig lists the host path prefixes users may bind.
type MountsConfig struct {
	Allow []string `toml:"allow"`
	// Site mounts ("SRC:DST[:ro]") are added to every container, e.g.
	// "/etc/passwd:/etc/passwd:ro" so that names resolve inside.
	Site []string `toml:"site"`
}

// UsersConfig says which callers may run containers at all.
type UsersConfig struct {
	MinUID     uint32   `toml:"min_uid"`
	DenyGroups []string `toml:"deny_groups"`
}

// CgroupsConfig says which task cgroups count as Mesos'.
type CgroupsConfig struct {
	// AllowDelegated accepts a task cgroup a user could have made: one
	// beneath a directory a user owns or group or others can write (a
	// subtree delegated to that user, as for the single-machine local Mesos
	// of `mrun --master local`). A Mesos agent makes every directory above a
	// task's own as root (it chowns only the task's own directory to the
	// task's user); in a delegated one the user chose the limits, within the
	// root-owned parent's. See cgroup.Judge.
	AllowDelegated bool `toml:"allow_delegated"`
}

// ContainerConfig fixes the parts of the container spec the admin controls.
type ContainerConfig struct {
	Network          string `toml:"network"`
	PidsLimit        int64  `toml:"pids_limit"`
	StopGraceSeconds int    `toml:"stop_grace_seconds"`
	// SeccompProfile is a root-owned JSON seccomp profile given to Docker
	// for every container instead of the daemon's built-in one ("" keeps
	// that). See SECURITY.md, "Seccomp and cross-memory attach".
	SeccompProfile string `toml:"seccomp_profile"`
}

// AuditConfig says where the audit log is.
type AuditConfig struct {
	Path string `toml:"path"`
}

// DefaultConfig returns the values used for keys the file leaves out. They are
// the conservative choice: nothing is allowed until the admin lists it.
func DefaultConfig() Config {
	return Config{
		Users:     UsersConfig{MinUID: 1000, DenyGroups: []string{"docker", "sudo", "wheel", "disk", "adm", "shadow"}},
		Container: ContainerConfig{Network: "none", PidsLimit: 4096, StopGraceSeconds: 10},
		Audit:     AuditConfig{Path: "/var/log/socker/audit.log"},
	}
}

const maxConfigSize = 1 << 20

// LoadConfig reads and validates the config at path. The file must be a
// regular file (a symlink is refused), owned by root and not writable by group
// or others, and so must every directory above it, because whoever can write
// the file, or replace it, decides who gets root-equivalent Docker access.
func LoadConfig(path string) (*Config, error) {
	data, err := readRootFile("config", path)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if p := cfg.Container.SeccompProfile; p != "" {
		data, err := readRootFile("seccomp profile", p)
		if err != nil {
			return nil, fmt.Errorf("config %s: container.seccomp_profile: %w", path, err)
		}
		if cfg.Seccomp, err = ParseSeccompProfile(data); err != nil {
			return nil, fmt.Errorf("config %s: container.seccomp_profile %s: %w", path, p, err)
		}
		sum := sha256.Sum256(data)
		cfg.SeccompHash = "sha256:" + hex.EncodeToString(sum[:])
	}
	return cfg, nil
}

// readRootFile reads what, at path: a regular file (not a symlink) of at
// most maxConfigSize bytes, owned by root and not writable by group or
// others, in directories that are too (checkParents).
func readRootFile(what, path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s %s is a symlink; it must be a regular file owned by root", what, path)
		}
		return nil, fmt.Errorf("opening %s %s: %w", what, path, err)
	}
	defer f.Close()
	if err := checkRootOwned(f, what, path); err != nil {
		return nil, err
	}
	if err := checkParents(what, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", what, path, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s %s is larger than %d bytes", what, path, maxConfigSize)
	}
	return data, nil
}

func checkRootOwned(f *os.File, what, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("checking %s %s: %w", what, path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s %s is not a regular file", what, path)
	}
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s %s must be owned by root and not writable by group or others", what, path)
	}
	return nil
}

// ParseSeccompProfile checks a Docker seccomp profile (JSON) and returns it
// compacted, as socker gives it to Docker. Docker parses the rest; socker
// refuses what is not a JSON object with a defaultAction that denies
// (SCMP_ACT_ERRNO, _KILL, _KILL_PROCESS, _KILL_THREAD or _TRAP): a
// profile that allows or only logs by default would be "unconfined" by
// another name.
func ParseSeccompProfile(data []byte) ([]byte, error) {
	var p struct {
		DefaultAction *string `json:"defaultAction"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("not a JSON seccomp profile: %s", oneLine(err.Error()))
	}
	if p.DefaultAction == nil {
		return nil, errors.New("no defaultAction")
	}
	switch *p.DefaultAction {
	case "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP":
	default:
		return nil, fmt.Errorf("defaultAction %q does not deny: only a profile that denies what it does not list is accepted", *p.DefaultAction)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, data); err != nil {
		return nil, fmt.Errorf("not a JSON seccomp profile: %s", oneLine(err.Error()))
	}
	return out.Bytes(), nil
}

// ParseConfig parses and validates config bytes. Unknown keys, invalid
// references and invalid values are errors: a typo must never widen access.
func ParseConfig(data []byte) (*Config, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, errors.New("config contains a NUL byte")
	}
	cfg := DefaultConfig()
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing TOML: %s", oneLine(err.Error()))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return nil, fmt.Errorf("unknown key %q", keys[0])
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	cfg.Hash = "sha256:" + hex.EncodeToString(sum[:])
	return &cfg, nil
}

func (c *Config) validate() error {
	for i, ref := range c.Images.Allow {
		n, err := NormalizeImage(ref)
		if err != nil {
			return fmt.Errorf("images.allow: %w", err)
		}
		c.Images.Allow[i] = n
	}
	for i, p := range c.Mounts.Allow {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return fmt.Errorf("mounts.allow: %q must be an absolute, clean path other than /", p)
		}
		c.Mounts.Allow[i] = p
	}
	for _, spec := range c.Mounts.Site {
		m, err := ParseMount(spec)
		if err != nil {
			return fmt.Errorf("mounts.site: %w", err)
		}
		m.Site = true
		for _, o := range c.SiteMounts {
			if o.Target == m.Target {
				return fmt.Errorf("mounts.site: target %q given twice", m.Target)
			}
		}
		c.SiteMounts = append(c.SiteMounts, m)
	}
	if c.Users.MinUID == 0 {
		return errors.New("users.min_uid must be at least 1: root never runs containers through socker")
	}
	for _, g := range c.Users.DenyGroups {
		if g == "" || strings.ContainsAny(g, ":\n") {
			return fmt.Errorf("users.deny_groups: invalid group %q", g)
		}
	}
	switch c.Container.Network {
	case "none", "host":
	default:
		return fmt.Errorf("container.network must be \"none\" or \"host\", not %q", c.Container.Network)
	}
	if c.Container.PidsLimit < 1 {
		return errors.New("container.pids_limit must be at least 1")
	}
	if c.Container.StopGraceSeconds < 0 || c.Container.StopGraceSeconds > 3600 {
		return errors.New("container.stop_grace_seconds must be between 0 and 3600")
	}
	if p := c.Container.SeccompProfile; p != "" && (!filepath.IsAbs(p) || filepath.Clean(p) != p) {
		return fmt.Errorf("container.seccomp_profile %q must be an absolute, clean path", p)
	}
	if !filepath.IsAbs(c.Audit.Path) || filepath.Clean(c.Audit.Path) != c.Audit.Path {
		return fmt.Errorf("audit.path %q must be an absolute, clean path", c.Audit.Path)
	}
	return nil
}

// checkParents requires every directory above path, up to /, to be a real
// directory (not a symlink) owned by root and not writable by group or
// others: otherwise its owner could swap the config for their own.
func checkParents(what, path string) error {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		if err := unix.Lstat(dir, &st); err != nil {
			return fmt.Errorf("checking directory %s of %s %s: %w", dir, what, path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("%s (holding %s %s) must be a directory, not a symlink", dir, what, path)
		}
		if st.Uid != 0 || st.Mode&0o022 != 0 {
			return fmt.Errorf("directory %s (holding %s %s) must be owned by root and not writable by group or others", dir, what, path)
		}
		if dir == "/" {
			return nil
		}
	}
}

func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
