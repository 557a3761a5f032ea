package security

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// knownReasons are the denial codes Decide may return (the audit log's
// vocabulary); a new code must be added here on purpose.
var knownReasons = map[string]bool{
	"uid-root": true, "gid-root": true, "uid-below-min": true, "group-root": true,
	"group-denied": true, "not-in-mesos-cgroup": true, "invalid-utf8": true,
	"request-too-large": true, "image-invalid": true, "image-not-allowed": true,
	"no-command": true, "mount-invalid": true, "mount-source-invalid": true,
	"mount-not-allowed": true, "mount-target-invalid": true, "mount-target-twice": true,
	"workdir-invalid": true, "env-invalid": true, "env-reserved": true, "env-twice": true,
	"mount-source-protected": true, "mount-nested": true, "mount-target-reserved": true,
	"cgroup-invalid": true, "cgroup-delegated": true,
}

// components splits an absolute, clean path into its names ("/" has none).
func components(p string) []string {
	if p == "/" {
		return nil
	}
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// beneath reports, component by component and independently of the code
// under test, whether p is prefix or inside it.
func beneath(p, prefix string) bool {
	pc, fc := components(p), components(prefix)
	return len(pc) >= len(fc) && slices.Equal(pc[:len(fc)], fc)
}

func cleanAbs(p string) bool { return filepath.IsAbs(p) && filepath.Clean(p) == p }

func kernelFS(p string) bool {
	return beneath(p, "/proc") || beneath(p, "/sys") || beneath(p, "/dev")
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(exampleConfig))
	f.Add([]byte(""))
	f.Add([]byte("[images]\nallow = [\"ubuntu\", \"localhost:5000/x@sha256:" + strings.Repeat("a", 64) + "\"]\n"))
	f.Add([]byte("[mounts]\nallow = [\"/scratch/\", \"/\"]\n"))
	f.Add([]byte("[users]\nmin_uid = 0\n"))
	f.Add([]byte("[container]\nnetwork = \"host\"\npids_limit = 1\nstop_grace_seconds = 3600\n"))
	f.Add([]byte("[images]\npull = true\n"))
	f.Add([]byte("[audit]\npath = 'relative'\n"))
	f.Add([]byte("[[images]]\nallow = 1\n"))
	f.Add([]byte("[images]\nallow = [\"A\\r\\n\\u001b[2J\"]\n"))
	f.Add([]byte("0=0b"))
	f.Add([]byte("0=0b\r\n"))
	f.Add([]byte("images.allow = [\"a\"]\nmounts = { allow = [\"/a\"] }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("config returned with error %v", err)
			}
			// The file is root's, trusted: one line is enough (the TOML
			// parser may echo a NUL it uses for end of input).
			if msg := err.Error(); !isOneLine(msg) {
				t.Fatalf("error is not one line: %q", msg)
			}
			return
		}
		if cfg.Users.MinUID < 1 {
			t.Fatalf("min_uid %d accepted", cfg.Users.MinUID)
		}
		if n := cfg.Container.Network; n != "none" && n != "host" {
			t.Fatalf("network %q accepted", n)
		}
		if cfg.Container.PidsLimit < 1 {
			t.Fatalf("pids_limit %d accepted", cfg.Container.PidsLimit)
		}
		if g := cfg.Container.StopGraceSeconds; g < 0 || g > 3600 {
			t.Fatalf("stop_grace_seconds %d accepted", g)
		}
		for _, img := range cfg.Images.Allow {
			if n, err := NormalizeImage(img); err != nil || n != img {
				t.Fatalf("allowed image %q is not normalized: %q, %v", img, n, err)
			}
		}
		for _, m := range cfg.Mounts.Allow {
			if !cleanAbs(m) || m == "/" {
				t.Fatalf("mount prefix %q accepted", m)
			}
		}
		for _, g := range cfg.Users.DenyGroups {
			if g == "" || strings.ContainsAny(g, ":\n") {
				t.Fatalf("deny group %q accepted", g)
			}
		}
		if !cleanAbs(cfg.Audit.Path) {
			t.Fatalf("audit path %q accepted", cfg.Audit.Path)
		}
		if !hashRE.MatchString(cfg.Hash) || cfg.Hash != "sha256:"+sha256Hex(data) {
			t.Fatalf("hash %q", cfg.Hash)
		}
	})
}

func FuzzNormalizeImage(f *testing.F) {
	for _, s := range []string{
		"ubuntu", "ubuntu:22.04", "socker-test/tiny:1", "localhost:5000/x",
		"docker.io/library/ubuntu:latest", "index.docker.io/ubuntu",
		"ubuntu@sha256:" + strings.Repeat("a", 64), "ubuntu:1@sha256:" + strings.Repeat("b", 64),
		"sha256:" + strings.Repeat("c", 64), strings.Repeat("d", 64),
		"-v=/:/host", "--privileged", "UBUNTU", "Docker.io/ubuntu", "ubuntu ", "a\xff", "A\r", "A\x1b[2J",
		strings.Repeat("a", 240), "a:" + strings.Repeat("t", 128),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeImage(in)
		if err != nil {
			if out != "" {
				t.Fatalf("NormalizeImage(%q) = %q with error %v", in, out, err)
			}
			if msg := err.Error(); !printableLine(msg) {
				t.Fatalf("error is not one printable line: %q", msg)
			}
			return
		}
		if out == "" || strings.HasPrefix(out, "-") || len(out) > maxImageRef || !utf8.ValidString(out) {
			t.Fatalf("NormalizeImage(%q) = %q", in, out)
		}
		if strings.ContainsAny(out, " \t\n\r\x00") {
			t.Fatalf("NormalizeImage(%q) = %q contains whitespace or NUL", in, out)
		}
		again, err := NormalizeImage(out)
		if err != nil || again != out {
			t.Fatalf("not a fixed point: NormalizeImage(%q) = %q; NormalizeImage(%q) = %q, %v", in, out, out, again, err)
		}
	})
}

func FuzzDecide(f *testing.F) {
	f.Add("socker-test/tiny:1", "/scratch/a:/data:ro", "", "FOO=bar", "/data", uint32(1500), uint32(1500))
	f.Add("docker.io/socker-test/tiny:1", "/home/alice:/home/alice", "/scratch/a:/home/alice/a", "", "", uint32(1000), uint32(1000))
	f.Add("socker-test/tiny:1", "/scratchy:/data", "", "PATH=/x", "/proc/self", uint32(0), uint32(0))
	f.Add("ubuntu", "/scratch/../etc:/etc", "", "A", "rel", uint32(999), uint32(999))
	f.Add("-v=/:/host", "/home:/", "", "1A=b", "/dev", uint32(1500), uint32(27))
	f.Add("socker-test/tiny:1", "/scratch:/sys/x:rw", "", "A=\xff", "/\xff", uint32(4294967295), uint32(1))
	f.Add("A\r", "0", "0", "0", "0", uint32(1492), uint32(6))
	f.Add("socker-test/tiny:1", "", "", "", "/data/\xff", uint32(1500), uint32(1500))
	f.Add("socker-test/tiny:1", "/scratch/a:/v", "/scratch/b:/v/sub", "", "/v/a/b", uint32(1500), uint32(1500))
	f.Add("socker-test/tiny:1", "/scratch/a:/opt/sw/x", "/scratch/b:/etc", "", "/opt/sw/x", uint32(1500), uint32(1500))
	f.Add("socker-test/tiny:1", "/scratch/a:/usr", "/scratch/b:/etc/hosts:ro", "", "", uint32(1500), uint32(1500))
	f.Fuzz(func(t *testing.T, image, mnt, mnt2, env, workdir string, uid, gid uint32) {
		p := Policy{
			Config:     fuzzPolicyConfig,
			DenyGroups: map[uint32]string{999: "docker", 27: "sudo"},
			ConfigPath: testConfigPath,
		}
		c := Caller{UID: uid, GID: gid, Groups: []uint32{gid, 1501}, Name: "alice", Home: "/home/alice"}
		req := Request{Image: image, Workdir: workdir, Command: []string{"true"}}
		for _, m := range []string{mnt, mnt2} {
			if m != "" {
				req.Mounts = append(req.Mounts, m)
			}
		}
		if env != "" {
			req.Env = []string{env}
		}
		d, dn := denied(Decide(p, c, testTask(), req))
		if !slices.Equal(p.Config.Images.Allow, []string{testImage}) || !slices.Equal(p.Config.Mounts.Allow, []string{"/scratch", "/home"}) {
			t.Fatalf("Decide changed the config: %+v", p.Config)
		}
		if dn != nil {
			if !knownReasons[dn.Reason] {
				t.Fatalf("unknown reason %q (%s)", dn.Reason, dn.Msg)
			}
			if !printableLine(dn.Msg) {
				t.Fatalf("denial message is not one printable line: %q", dn.Msg)
			}
			if uid == 0 && dn.Reason != "uid-root" {
				t.Fatalf("uid 0 denied for %q, want uid-root", dn.Reason)
			}
			return
		}
		if d.Caller.UID != uid || uid == 0 || d.Caller.GID != gid || gid == 0 {
			t.Fatalf("allowed uid %d gid %d (decision %d:%d)", uid, gid, d.Caller.UID, d.Caller.GID)
		}
		if uid < p.Config.Users.MinUID {
			t.Fatalf("allowed uid %d below min_uid", uid)
		}
		for _, g := range append([]uint32{d.Caller.GID}, d.Caller.Groups...) {
			if _, denied := p.DenyGroups[g]; denied || g == 0 {
				t.Fatalf("allowed a member of group %d", g)
			}
		}
		if !slices.Contains(p.Config.Images.Allow, d.Image) {
			t.Fatalf("image %q is not in the allowlist", d.Image)
		}
		if len(d.Command) == 0 {
			t.Fatal("allowed without a command")
		}
		if !slices.Equal(d.Mounts[:len(fuzzSiteMounts)], fuzzPolicyConfig.SiteMounts) {
			t.Fatalf("site mounts %+v, want them first", d.Mounts)
		}
		for i, m := range d.Mounts[len(fuzzSiteMounts):] {
			if m.Site {
				t.Fatalf("user mount %+v marked as a site mount", m)
			}
			// runc, as root, would create a mount point in a host
			// directory: targets never nest, nor meet Docker's own.
			for j, o := range d.Mounts[:len(fuzzSiteMounts)+i] {
				if beneath(m.Target, o.Target) || beneath(o.Target, m.Target) {
					t.Fatalf("user mount target %q and mount %d's %q nest", m.Target, j, o.Target)
				}
			}
			for _, dt := range []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sbin/docker-init", "/usr/sbin/docker-init"} {
				if beneath(m.Target, dt) || beneath(dt, m.Target) {
					t.Fatalf("user mount target %q meets Docker's %s", m.Target, dt)
				}
			}
			if !cleanAbs(m.Source) || strings.ContainsAny(m.Source, ",\n") {
				t.Fatalf("mount source %q", m.Source)
			}
			under := false
			for _, pre := range p.Config.Mounts.Allow {
				under = under || beneath(m.Source, pre)
			}
			if !under {
				t.Fatalf("mount source %q is not under %v", m.Source, p.Config.Mounts.Allow)
			}
			if !cleanAbs(m.Target) || m.Target == "/" || kernelFS(m.Target) || strings.ContainsAny(m.Target, ",\n") {
				t.Fatalf("mount target %q", m.Target)
			}
		}
		if !cleanAbs(d.Workdir) || kernelFS(d.Workdir) {
			t.Fatalf("workdir %q", d.Workdir)
		}
		if len(d.Env) < 4 || d.Env[0] != "PATH="+DefaultPath || d.Env[1] != "HOME=/home/alice" ||
			d.Env[2] != "USER=alice" || d.Env[3] != "LOGNAME=alice" {
			t.Fatalf("identity env %q", d.Env)
		}
		seen := map[string]bool{}
		for _, kv := range d.Env {
			name, _, ok := strings.Cut(kv, "=")
			if !ok || name == "" || seen[name] {
				t.Fatalf("env %q in %q", kv, d.Env)
			}
			seen[name] = true
		}
		// Everything in the decision reaches Docker and the audit log as
		// JSON, which would silently rewrite invalid UTF-8.
		for _, s := range slices.Concat([]string{d.Image, d.Workdir}, d.Env, d.Command) {
			if !utf8.ValidString(s) {
				t.Fatalf("decision carries invalid UTF-8 %q", s)
			}
		}
		for _, m := range d.Mounts {
			if !utf8.ValidString(m.Source) || !utf8.ValidString(m.Target) {
				t.Fatalf("mount %+v carries invalid UTF-8", m)
			}
		}
		if d.Network != "none" || d.PidsLimit != 4096 || d.Task.Parent != testTask().Parent {
			t.Fatalf("decision %+v", d)
		}
	})
}

// fuzzSiteMounts are the site mounts of fuzzPolicyConfig: a file, and a
// directory with another site mount inside.
var fuzzSiteMounts = []string{"/etc/passwd:/etc/passwd:ro", "/opt/sw:/opt/sw", "/opt/sw-lib:/opt/sw/lib:ro"}

// fuzzPolicyConfig is exampleConfig with fuzzSiteMounts, parsed once: Decide
// must not change it, and the fuzz target checks that too.
var fuzzPolicyConfig = func() *Config {
	quoted := make([]string, len(fuzzSiteMounts))
	for i, m := range fuzzSiteMounts {
		quoted[i] = strconv.Quote(m)
	}
	text := strings.Replace(exampleConfig, `allow = ["/scratch", "/home"]`,
		`allow = ["/scratch", "/home"]`+"\nsite = ["+strings.Join(quoted, ", ")+"]", 1)
	cfg, err := ParseConfig([]byte(text))
	if err != nil {
		panic(err)
	}
	return cfg
}()

// FuzzParseMount drives the mount syntax and the mount policy. Invariants on
// an allowed mount: both paths absolute and clean, no ',' or control
// characters, the target not / nor under /proc, /sys or /dev; and when the
// policy allows it, the source is under an allowed prefix by whole
// components and neither is nor contains a protected path.
func FuzzParseMount(f *testing.F) {
	for _, s := range []string{
		"/scratch/a:/data:ro", "/scratch/a:/data:rw", "/scratch/a:/data", "/scratchy:/d", "/scratch/../etc:/e",
		"/home/u,src=/etc:/d", "/home/u:/proc/x", "/:/", "/run:/r", "/etc/socker:/e", "/home/u:/d:ro:x",
		"/home/u\n:/d", "/var/run/docker.sock:/s", "relative:/d", "/home/u:relative", "/home/u::ro",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		m, err := ParseMount(spec)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, p := range []string{m.Source, m.Target} {
			if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsFunc(p, badPathRune) {
				t.Fatalf("ParseMount(%q) accepted path %q", spec, p)
			}
		}
		if !containerPath(m.Target) || m.Target == "/" {
			t.Fatalf("ParseMount(%q) accepted target %q", spec, m.Target)
		}
		p := Policy{Config: fuzzPolicyConfig, ConfigPath: testConfigPath}
		mnt, dn := denied(decideMount(p, spec))
		if dn != nil {
			return
		}
		if !underAny(mnt.Source, p.Config.Mounts.Allow) {
			t.Fatalf("decideMount(%q) allowed %q outside %v", spec, mnt.Source, p.Config.Mounts.Allow)
		}
		for _, s := range append([]string{"/proc", "/sys", "/dev", filepath.Dir(testConfigPath)}, DockerSockets...) {
			if underAny(mnt.Source, []string{s}) || underAny(s, []string{mnt.Source}) {
				t.Fatalf("decideMount(%q) allowed protected source %q (%s)", spec, mnt.Source, s)
			}
		}
	})
}
