package testutil

import (
	"errors"
	"net"
	"os"
	"path/filepath"
)

// Install is socker built and installed setuid root in a temporary
// directory (Dir, on a filesystem without nosuid), its config in a separate
// root-owned 0755 directory (socker refuses a config whose directory or any
// parent is writable by group or others, as /tmp is), and its audit log in
// Dir/log (root, 0700). SeccompPath, beside the config, is the packaged
// seccomp profile, for configs that name it.
type Install struct {
	Dir, ConfDir, ConfigPath, AuditPath, SeccompPath, Socker string
}

// NewInstall installs socker with the config that config returns for the
// audit log's and the seccomp profile's paths. Close removes everything it created.
func NewInstall(prefix string, config func(auditPath, seccompPath string) string) (in *Install, err error) {
	in = &Install{}
	defer func() {
		if err != nil {
			in.Close()
		}
	}()
	for _, d := range []struct {
		p      *string
		parent string
	}{{&in.Dir, ""}, {&in.ConfDir, "/run"}} {
		if *d.p, err = os.MkdirTemp(d.parent, prefix); err != nil {
			return nil, err
		}
		if err = os.Chmod(*d.p, 0o755); err != nil {
			return nil, err
		}
	}
	in.ConfigPath = filepath.Join(in.ConfDir, "socker.toml")
	in.AuditPath = filepath.Join(in.Dir, "log", "audit.log")
	if err = os.MkdirAll(filepath.Dir(in.AuditPath), 0o700); err != nil {
		return nil, err
	}
	in.SeccompPath = filepath.Join(in.ConfDir, "seccomp.json")
	if err = CopyPackagedSeccomp(in.SeccompPath); err != nil {
		return nil, err
	}
	if err = os.WriteFile(in.ConfigPath, []byte(config(in.AuditPath, in.SeccompPath)), 0o644); err != nil {
		return nil, err
	}
	if in.Socker, err = InstallSocker(in.Dir, in.ConfigPath); err != nil {
		return nil, err
	}
	return in, nil
}

// Close removes the install and config directories.
func (in *Install) Close() error {
	var errs []error
	for _, d := range []string{in.Dir, in.ConfDir} {
		if d != "" {
			errs = append(errs, os.RemoveAll(d))
		}
	}
	return errors.Join(errs...)
}

// LoopbackHostname is a second name for this machine, next to "localhost",
// that resolves to loopback only: the hostname if it does, else 127.0.0.1.
// Two such names make two MPI "nodes" on one machine without traffic
// leaving loopback.
func LoopbackHostname() string {
	name, err := os.Hostname()
	if err != nil || name == "localhost" {
		return "127.0.0.1"
	}
	addrs, err := net.LookupHost(name)
	if err != nil || len(addrs) == 0 {
		return "127.0.0.1"
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return "127.0.0.1"
		}
	}
	return name
}

// CopyPackagedSeccomp writes the packaged seccomp profile
// (packaging/seccomp/seccomp.json) to path, 0644 (root's, as the tests run),
// for a config's container.seccomp_profile.
func CopyPackagedSeccomp(path string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(filepath.Join(root, "packaging", "seccomp", "seccomp.json"))
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
