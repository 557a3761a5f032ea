package security

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("config %s is a symlink; it must be a regular file owned by root", path)
		}
		return nil, fmt.Errorf("opening config %s: %w", path, err)
	}
	defer f.Close()
	if err := checkRootOwned(f, path); err != nil {
		return nil, err
	}
	if err := checkParents(path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("config %s is larger than %d bytes", path, maxConfigSize)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

func checkRootOwned(f *os.File, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("checking config %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("config %s is not a regular file", path)
	}
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		return fmt.Errorf("config %s must be owned by root and not writable by group or others", path)
	}
	return nil
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
	if !filepath.IsAbs(c.Audit.Path) || filepath.Clean(c.Audit.Path) != c.Audit.Path {
		return fmt.Errorf("audit.path %q must be an absolute, clean path", c.Audit.Path)
	}
	return nil
}

// checkParents requires every directory above path, up to /, to be a real
// directory (not a symlink) owned by root and not writable by group or
// others: otherwise its owner could swap the config for their own.
func checkParents(path string) error {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		var st unix.Stat_t
		if err := unix.Lstat(dir, &st); err != nil {
			return fmt.Errorf("checking directory %s of config %s: %w", dir, path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("%s (holding config %s) must be a directory, not a symlink", dir, path)
		}
		if st.Uid != 0 || st.Mode&0o022 != 0 {
			return fmt.Errorf("directory %s (holding config %s) must be owned by root and not writable by group or others", dir, path)
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
