package security

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/sockerhpc/socker/cgroup"
)

const (
	testConfigPath = "/etc/socker/socker.toml"
	testMesosID    = "3f1c7a52-8d4e-4b1a-9c2f-5e6d7a8b9c0d"
	testImage      = "docker.io/socker-test/tiny:1"
)

func testPolicy(t testing.TB) Policy {
	t.Helper()
	return Policy{
		Config:     mustParse(t, exampleConfig),
		DenyGroups: map[uint32]string{999: "docker", 27: "sudo"},
		ConfigPath: testConfigPath,
	}
}

func testCaller() Caller {
	return Caller{UID: 1500, GID: 1500, Groups: []uint32{1500, 1501}, Name: "alice", Home: "/home/alice"}
}

// denied returns v and err as a *Denial (nil when err is nil). An error
// that is not a *Denial comes back as one with an impossible reason, so that
// the assertions on Reason fail on it.
func denied[T any](v T, err error) (T, *Denial) { return v, asDenial(err) }

func asDenial(err error) *Denial {
	var dn *Denial
	switch {
	case err == nil:
		return nil
	case errors.As(err, &dn):
		return dn
	}
	return &Denial{Reason: "not a denial", Msg: err.Error()}
}

func testTask() Task {
	return Task{Task: cgroup.Task{
		Parent:      "/mesos/" + testMesosID,
		ContainerID: testMesosID,
		Mode:        cgroup.V1,
		Controllers: []string{"cpu", "cpuacct", "freezer", "memory"},
	}}
}

func testRequest() Request {
	return Request{Image: "socker-test/tiny:1", Command: []string{"echo", "hello"}}
}

func TestDecideAllowed(t *testing.T) {
	p := testPolicy(t)
	req := Request{
		Image:   "socker-test/tiny:1",
		Mounts:  []string{"/scratch/alice:/data", "/home/alice/ref:/ref:ro", "/scratch:/all:rw"},
		Workdir: "/data",
		Env:     []string{"OMP_NUM_THREADS=4", "EMPTY=", "EQ=a=b"},
		Command: []string{"python3", "train.py", "--privileged", "-v"},
	}
	got, dn := denied(Decide(p, testCaller(), testTask(), req))
	if dn != nil {
		t.Fatalf("Decide denied: %s: %s", dn.Reason, dn.Msg)
	}
	want := Decision{
		Caller: testCaller(),
		Image:  testImage,
		Mounts: []Mount{
			{Source: "/scratch/alice", Target: "/data"},
			{Source: "/home/alice/ref", Target: "/ref", ReadOnly: true},
			{Source: "/scratch", Target: "/all"},
		},
		Workdir: "/data",
		Env: []string{
			"PATH=" + DefaultPath, "HOME=/home/alice", "USER=alice", "LOGNAME=alice",
			"OMP_NUM_THREADS=4", "EMPTY=", "EQ=a=b",
		},
		Command:   []string{"python3", "train.py", "--privileged", "-v"},
		Task:      testTask().Task,
		Network:   "none",
		PidsLimit: 4096,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decide:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecideAllowedVariants(t *testing.T) {
	tests := []struct {
		name    string
		caller  func(*Caller)
		req     func(*Request)
		check   func(t *testing.T, d Decision)
		wantEnv []string
	}{
		{
			name:    "defaults: workdir / and identity env only",
			wantEnv: []string{"PATH=" + DefaultPath, "HOME=/home/alice", "USER=alice", "LOGNAME=alice"},
			check: func(t *testing.T, d Decision) {
				if d.Workdir != "/" || d.Mounts != nil || d.Network != "none" || d.PidsLimit != 4096 {
					t.Errorf("got workdir %q mounts %v network %q pids %d", d.Workdir, d.Mounts, d.Network, d.PidsLimit)
				}
			},
		},
		{
			name:    "caller without passwd entry gets USER=uid and HOME /",
			caller:  func(c *Caller) { c.Name, c.Home = "", "" },
			wantEnv: []string{"PATH=" + DefaultPath, "HOME=/", "USER=1500", "LOGNAME=1500"},
		},
		{
			name:    "relative home becomes /",
			caller:  func(c *Caller) { c.Home = "home/alice" },
			wantEnv: []string{"PATH=" + DefaultPath, "HOME=/", "USER=alice", "LOGNAME=alice"},
		},
		{
			name:    "empty home becomes /",
			caller:  func(c *Caller) { c.Home = "" },
			wantEnv: []string{"PATH=" + DefaultPath, "HOME=/", "USER=alice", "LOGNAME=alice"},
		},
		{
			name:   "uid equal to min_uid allowed",
			caller: func(c *Caller) { c.UID = 1000 },
		},
		{
			name:   "no supplementary groups",
			caller: func(c *Caller) { c.Groups = nil },
		},
		{
			name: "mount source equal to the prefix",
			req:  func(r *Request) { r.Mounts = []string{"/home:/h:ro"} },
		},
		{
			name: "already normalized reference allowed",
			req:  func(r *Request) { r.Image = testImage },
		},
		{
			name: "workdir outside /proc-like dirs",
			req:  func(r *Request) { r.Workdir = "/process" },
			check: func(t *testing.T, d Decision) {
				if d.Workdir != "/process" {
					t.Errorf("workdir %q", d.Workdir)
				}
			},
		},
		{
			name: "mount target next to /dev",
			req:  func(r *Request) { r.Mounts = []string{"/scratch/a:/devel"} },
		},
		{
			name: "mount targets side by side, one a prefix of the other's name",
			req:  func(r *Request) { r.Mounts = []string{"/scratch/a:/data", "/scratch/b:/data2", "/scratch/c:/dat"} },
		},
		{
			name: "one source at two side-by-side targets",
			req:  func(r *Request) { r.Mounts = []string{"/scratch/a:/v/a", "/scratch/a:/v/b:ro"} },
		},
		{
			name: "mount targets next to Docker's own",
			req: func(r *Request) {
				r.Mounts = []string{"/scratch/a:/etc/hostsx", "/scratch/b:/etc/hosts.d", "/scratch/c:/usr/local", "/scratch/d:/sbin2"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t)
			c := testCaller()
			if tt.caller != nil {
				tt.caller(&c)
			}
			req := testRequest()
			if tt.req != nil {
				tt.req(&req)
			}
			d, dn := denied(Decide(p, c, testTask(), req))
			if dn != nil {
				t.Fatalf("Decide denied: %s: %s", dn.Reason, dn.Msg)
			}
			if d.Caller.UID != c.UID || d.Image != testImage {
				t.Errorf("decision caller %d image %q", d.Caller.UID, d.Image)
			}
			if tt.wantEnv != nil && !reflect.DeepEqual(d.Env, tt.wantEnv) {
				t.Errorf("Env = %q, want %q", d.Env, tt.wantEnv)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}

	t.Run("delegated task cgroup when the admin allows it", func(t *testing.T) {
		p := testPolicy(t)
		p.Config = mustParse(t, exampleConfig+"\n[cgroups]\nallow_delegated = true\n")
		task := testTask()
		task.Delegated = "/sys/fs/cgroup/memory/mesos/x/mesos is owned by the caller (uid 1500), who can make cgroups in it"
		if _, dn := denied(Decide(p, testCaller(), task, testRequest())); dn != nil {
			t.Fatalf("Decide denied: %s", dn.Msg)
		}
	})

	t.Run("network host and pids_limit from config", func(t *testing.T) {
		p := testPolicy(t)
		p.Config = mustParse(t, strings.Replace(strings.Replace(exampleConfig,
			`network = "none"`, `network = "host"`, 1), "pids_limit = 4096", "pids_limit = 77", 1))
		d, dn := denied(Decide(p, testCaller(), testTask(), testRequest()))
		if dn != nil {
			t.Fatalf("Decide denied: %s", dn.Msg)
		}
		if d.Network != "host" || d.PidsLimit != 77 {
			t.Errorf("Network %q PidsLimit %d, want host 77", d.Network, d.PidsLimit)
		}
		if d.Seccomp != nil {
			t.Errorf("no seccomp_profile: Seccomp %q, want nil (Docker's built-in profile)", d.Seccomp)
		}
	})

	t.Run("seccomp profile from config", func(t *testing.T) {
		p := testPolicy(t)
		p.Config.Seccomp = []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}`)
		d, dn := denied(Decide(p, testCaller(), testTask(), testRequest()))
		if dn != nil {
			t.Fatalf("Decide denied: %s", dn.Msg)
		}
		if string(d.Seccomp) != `{"defaultAction":"SCMP_ACT_ERRNO"}` {
			t.Errorf("Seccomp %q, want the config's profile", d.Seccomp)
		}
	})
}

func TestDecideDenied(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		caller func(*Caller)
		task   func(*Task)
		req    func(*Request)
		reason string
		admin  bool // the message must name the config file
	}{
		// Identity, checked before anything the caller sends.
		{name: "uid 0", caller: func(c *Caller) { c.UID = 0 }, reason: "uid-root"},
		{name: "uid 0 outside mesos is still uid-root", caller: func(c *Caller) { c.UID = 0 }, task: func(tk *Task) { *tk = Task{} }, reason: "uid-root"},
		{name: "uid 0 with gid 0 and bad request is uid-root", caller: func(c *Caller) { c.UID, c.GID = 0, 0 }, req: func(r *Request) { *r = Request{} }, reason: "uid-root"},
		{name: "gid 0", caller: func(c *Caller) { c.GID = 0 }, reason: "gid-root"},
		{name: "supplementary group 0", caller: func(c *Caller) { c.Groups = []uint32{1500, 0} }, reason: "group-root"},
		{name: "uid below min_uid", caller: func(c *Caller) { c.UID = 999 }, reason: "uid-below-min", admin: true},
		{name: "uid 1 below min_uid", caller: func(c *Caller) { c.UID = 1 }, reason: "uid-below-min", admin: true},
		{name: "denied group as primary", caller: func(c *Caller) { c.GID = 999 }, reason: "group-denied", admin: true},
		{name: "denied group as supplementary", caller: func(c *Caller) { c.Groups = []uint32{1500, 27} }, reason: "group-denied", admin: true},
		{name: "empty task", task: func(tk *Task) { *tk = Task{} }, reason: "not-in-mesos-cgroup"},
		{name: "not in a Mesos cgroup, as the parser says", task: func(tk *Task) { *tk = Task{Err: cgroup.ErrNotMesos} }, reason: "not-in-mesos-cgroup"},
		{name: "a cgroup file the parser refuses", task: func(tk *Task) { *tk = Task{Err: errors.New(`unknown cgroup controller "x"`)} }, reason: "cgroup-invalid"},
		{name: "a parse error wrapping not-Mesos", task: func(tk *Task) { *tk = Task{Err: fmt.Errorf("reading: %w", cgroup.ErrNotMesos)} }, reason: "not-in-mesos-cgroup"},
		{name: "task cgroup a user could have made (delegated)", task: func(tk *Task) {
			tk.Delegated = "/sys/fs/cgroup/memory/mesos/x/mesos is owned by the caller (uid 1500), who can make cgroups in it"
		}, reason: "cgroup-delegated", admin: true},
		{name: "denied group outside mesos is group-denied", caller: func(c *Caller) { c.Groups = []uint32{999} }, task: func(tk *Task) { *tk = Task{} }, reason: "group-denied", admin: true},

		// Image.
		{name: "unlisted image", req: func(r *Request) { r.Image = "ubuntu" }, reason: "image-not-allowed", admin: true},
		{name: "unlisted tag of a listed repo", req: func(r *Request) { r.Image = "socker-test/tiny:2" }, reason: "image-not-allowed", admin: true},
		{name: "listed repo by digest", req: func(r *Request) { r.Image = "socker-test/tiny@sha256:" + hex64 }, reason: "image-not-allowed", admin: true},
		{name: "image that looks like an option", req: func(r *Request) { r.Image = "--privileged" }, reason: "image-invalid"},
		{name: "image -v=/:/host", req: func(r *Request) { r.Image = "-v=/:/host" }, reason: "image-invalid"},
		{name: "image uppercase repository", req: func(r *Request) { r.Image = "socker-test/TINY:1" }, reason: "image-invalid"},
		{name: "uppercase first component is a registry host, not allowed", req: func(r *Request) { r.Image = "SOCKER-TEST/tiny:1" }, reason: "image-not-allowed", admin: true},
		{name: "unlisted image id", req: func(r *Request) { r.Image = "sha256:" + hex64 }, reason: "image-not-allowed", admin: true},
		{name: "short image id", req: func(r *Request) { r.Image = "sha256:0123456789ab" }, reason: "image-invalid"},
		{name: "image with control characters, message stays one line", req: func(r *Request) { r.Image = "A\r\n\x1b[2J" }, reason: "image-invalid"},
		{name: "empty image", req: func(r *Request) { r.Image = "" }, reason: "image-invalid"},
		{name: "image with invalid UTF-8", req: func(r *Request) { r.Image = "socker-test/tiny:1\xff" }, reason: "image-invalid"},

		// Command.
		{name: "no command", req: func(r *Request) { r.Command = nil }, reason: "no-command"},
		{name: "empty command slice", req: func(r *Request) { r.Command = []string{} }, reason: "no-command"},

		// Mounts.
		{name: "mount outside prefixes", req: func(r *Request) { r.Mounts = []string{"/opt/data:/data"} }, reason: "mount-not-allowed", admin: true},
		{name: "mount of the config directory", req: func(r *Request) { r.Mounts = []string{"/etc/socker:/data"} }, reason: "mount-source-protected"},
		{name: "mount of a parent of the config directory", req: func(r *Request) { r.Mounts = []string{"/etc:/data"} }, reason: "mount-source-protected"},
		{name: "mount of the docker socket", req: func(r *Request) { r.Mounts = []string{"/var/run/docker.sock:/d.sock"} }, reason: "mount-source-protected"},
		{name: "mount of /run (holds the docker socket)", req: func(r *Request) { r.Mounts = []string{"/run:/r"} }, reason: "mount-source-protected"},
		{name: "mount of /proc", req: func(r *Request) { r.Mounts = []string{"/proc/1/root:/r"} }, reason: "mount-source-protected"},
		{name: "mount of /sys", req: func(r *Request) { r.Mounts = []string{"/sys/fs/cgroup:/r"} }, reason: "mount-source-protected"},
		{name: "mount of /dev", req: func(r *Request) { r.Mounts = []string{"/dev/sda:/r"} }, reason: "mount-source-protected"},
		{name: "mount of the audit directory", req: func(r *Request) { r.Mounts = []string{"/var/log/socker:/r"} }, reason: "mount-source-protected"},
		{name: "mount prefix confusion /scratchy", req: func(r *Request) { r.Mounts = []string{"/scratchy:/data"} }, reason: "mount-not-allowed", admin: true},
		{name: "mount prefix confusion /homework", req: func(r *Request) { r.Mounts = []string{"/homework/x:/data"} }, reason: "mount-not-allowed", admin: true},
		{name: "mount parent of prefix", req: func(r *Request) { r.Mounts = []string{"/:/data"} }, reason: "mount-source-protected"},
		{name: "mount source with ..", req: func(r *Request) { r.Mounts = []string{"/scratch/../etc:/data"} }, reason: "mount-source-invalid"},
		{name: "mount source ending in ..", req: func(r *Request) { r.Mounts = []string{"/scratch/..:/data"} }, reason: "mount-source-invalid"},
		{name: "mount relative source", req: func(r *Request) { r.Mounts = []string{"scratch/a:/data"} }, reason: "mount-source-invalid"},
		{name: "mount source with trailing slash", req: func(r *Request) { r.Mounts = []string{"/scratch/:/data"} }, reason: "mount-source-invalid"},
		{name: "mount source with comma", req: func(r *Request) { r.Mounts = []string{"/scratch/a,readonly=false:/data"} }, reason: "mount-source-invalid"},
		{name: "mount empty source", req: func(r *Request) { r.Mounts = []string{":/data"} }, reason: "mount-source-invalid"},
		{name: "mount target /", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/"} }, reason: "mount-target-invalid"},
		{name: "mount target /proc/x", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/proc/x"} }, reason: "mount-target-invalid"},
		{name: "mount target /proc", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/proc"} }, reason: "mount-target-invalid"},
		{name: "mount target /sys/fs", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/sys/fs"} }, reason: "mount-target-invalid"},
		{name: "mount target /dev", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/dev"} }, reason: "mount-target-invalid"},
		{name: "mount target relative", req: func(r *Request) { r.Mounts = []string{"/scratch/a:data"} }, reason: "mount-target-invalid"},
		{name: "mount target unclean", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/data/../proc"} }, reason: "mount-target-invalid"},
		{name: "mount target empty", req: func(r *Request) { r.Mounts = []string{"/scratch/a:"} }, reason: "mount-target-invalid"},
		{name: "mount option rx", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/data:rx"} }, reason: "mount-invalid"},
		{name: "mount option empty", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/data:"} }, reason: "mount-invalid"},
		{name: "mount without target", req: func(r *Request) { r.Mounts = []string{"/scratch/a"} }, reason: "mount-invalid"},
		{name: "mount with four fields", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/data:ro:z"} }, reason: "mount-invalid"},
		{name: "mount empty string", req: func(r *Request) { r.Mounts = []string{""} }, reason: "mount-invalid"},
		{name: "duplicate mount target", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/data", "/home/alice:/data:ro"} }, reason: "mount-target-twice"},
		{name: "mount target inside an earlier one", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/v", "/scratch/b:/v/sub"} }, reason: "mount-nested"},
		{name: "mount target around an earlier one", req: func(r *Request) { r.Mounts = []string{"/scratch/b:/v/sub", "/scratch/a:/v"} }, reason: "mount-nested"},
		{name: "mount target deep inside an earlier read-only one", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/v:ro", "/scratch/b:/v/x/y/z:ro"} }, reason: "mount-nested"},
		{name: "mount target /etc holds Docker's /etc/hosts", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/etc"} }, reason: "mount-target-reserved"},
		{name: "mount target /etc/resolv.conf", req: func(r *Request) { r.Mounts = []string{"/scratch/a/resolv.conf:/etc/resolv.conf:ro"} }, reason: "mount-target-reserved"},
		{name: "mount target inside /etc/hostname", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/etc/hostname/x"} }, reason: "mount-target-reserved"},
		{name: "mount target /sbin holds docker-init", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/sbin:ro"} }, reason: "mount-target-reserved"},
		{name: "mount target /usr holds docker-init of a merged-/usr image", req: func(r *Request) { r.Mounts = []string{"/scratch/a:/usr"} }, reason: "mount-target-reserved"},

		// Environment.
		{name: "env without =", req: func(r *Request) { r.Env = []string{"FOO"} }, reason: "env-invalid"},
		{name: "env name starting with a digit", req: func(r *Request) { r.Env = []string{"1FOO=x"} }, reason: "env-invalid"},
		{name: "env name with dash", req: func(r *Request) { r.Env = []string{"FOO-BAR=x"} }, reason: "env-invalid"},
		{name: "env empty name", req: func(r *Request) { r.Env = []string{"=x"} }, reason: "env-invalid"},
		{name: "env name with newline", req: func(r *Request) { r.Env = []string{"FOO\nBAR=x"} }, reason: "env-invalid"},
		{name: "env PATH reserved", req: func(r *Request) { r.Env = []string{"PATH=/tmp"} }, reason: "env-reserved"},
		{name: "env HOME reserved", req: func(r *Request) { r.Env = []string{"HOME=/root"} }, reason: "env-reserved"},
		{name: "env USER reserved", req: func(r *Request) { r.Env = []string{"USER=root"} }, reason: "env-reserved"},
		{name: "env LOGNAME reserved", req: func(r *Request) { r.Env = []string{"LOGNAME=root"} }, reason: "env-reserved"},
		{name: "env given twice", req: func(r *Request) { r.Env = []string{"A=1", "B=2", "A=3"} }, reason: "env-twice"},

		// Encoding and size.
		{name: "invalid UTF-8 in command", req: func(r *Request) { r.Command = []string{"echo", "\xff\xfe"} }, reason: "invalid-utf8"},
		{name: "invalid UTF-8 in env", req: func(r *Request) { r.Env = []string{"A=\xc3"} }, reason: "invalid-utf8"},
		{name: "invalid UTF-8 in mount", req: func(r *Request) { r.Mounts = []string{"/scratch/\xff:/data"} }, reason: "invalid-utf8"},
		{name: "invalid UTF-8 in workdir", req: func(r *Request) { r.Workdir = "/data/\xff" }, reason: "invalid-utf8"},
		{name: "request larger than 64 KiB", req: func(r *Request) { r.Command = []string{"echo", strings.Repeat("x", 64<<10)} }, reason: "request-too-large"},
		{name: "too many mounts", req: func(r *Request) { r.Mounts = make([]string, maxMounts+1) }, reason: "request-too-large"},
		{name: "too many env variables", req: func(r *Request) { r.Env = make([]string, maxEnv+1) }, reason: "request-too-large"},
		{name: "oversize workdir", req: func(r *Request) { r.Workdir = "/" + strings.Repeat("w", 64<<10) }, reason: "request-too-large"},

		// Working directory.
		{name: "workdir /proc/self/fd/7", req: func(r *Request) { r.Workdir = "/proc/self/fd/7" }, reason: "workdir-invalid"},
		{name: "workdir relative", req: func(r *Request) { r.Workdir = "data" }, reason: "workdir-invalid"},
		{name: "workdir unclean", req: func(r *Request) { r.Workdir = "/data/../proc" }, reason: "workdir-invalid"},
		{name: "workdir /sys", req: func(r *Request) { r.Workdir = "/sys" }, reason: "workdir-invalid"},
		{name: "workdir /dev/shm", req: func(r *Request) { r.Workdir = "/dev/shm" }, reason: "workdir-invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t)
			c, task, req := testCaller(), testTask(), testRequest()
			if tt.caller != nil {
				tt.caller(&c)
			}
			if tt.task != nil {
				tt.task(&task)
			}
			if tt.req != nil {
				tt.req(&req)
			}
			d, dn := denied(Decide(p, c, task, req))
			if dn == nil {
				t.Fatalf("Decide allowed: %+v", d)
			}
			if dn.Reason != tt.reason {
				t.Errorf("Reason = %q (%s), want %q", dn.Reason, dn.Msg, tt.reason)
			}
			if !reflect.DeepEqual(d, Decision{}) {
				t.Errorf("a denial came with a non-zero decision: %+v", d)
			}
			if dn.Error() != dn.Msg || !printableLine(dn.Msg) {
				t.Errorf("message is not one printable line: %q", dn.Msg)
			}
			if got := strings.Contains(dn.Msg, testConfigPath); got != tt.admin {
				t.Errorf("message %q names %s: %v, want %v", dn.Msg, testConfigPath, got, tt.admin)
			}
		})
	}
}

// Decide must not keep or change the caller's slices in a way visible to
// later requests, and must not depend on anything but its arguments.
func TestDecideIsPure(t *testing.T) {
	p := testPolicy(t)
	req := Request{Image: "socker-test/tiny:1", Env: []string{"A=1"}, Command: []string{"true"}}
	d1, dn1 := denied(Decide(p, testCaller(), testTask(), req))
	d2, dn2 := denied(Decide(p, testCaller(), testTask(), req))
	if dn1 != nil || dn2 != nil {
		t.Fatalf("denied: %v %v", dn1, dn2)
	}
	if !reflect.DeepEqual(d1, d2) {
		t.Errorf("same input, different decisions:\n%+v\n%+v", d1, d2)
	}
	if !reflect.DeepEqual(req.Env, []string{"A=1"}) {
		t.Errorf("request env changed: %q", req.Env)
	}
	if want := []string{"docker.io/socker-test/tiny:1"}; !reflect.DeepEqual(p.Config.Images.Allow, want) {
		t.Errorf("config changed: %q", p.Config.Images.Allow)
	}
}

func TestUnderAny(t *testing.T) {
	prefixes := []string{"/scratch", "/home"}
	tests := []struct {
		path string
		want bool
	}{
		{"/scratch", true},
		{"/scratch/a", true},
		{"/scratch/a/b", true},
		{"/home/alice", true},
		{"/scratchy", false},
		{"/scratch2/a", false},
		{"/homes", false},
		{"/", false},
		{"/etc", false},
		{"scratch/a", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := underAny(tt.path, prefixes); got != tt.want {
				t.Errorf("underAny(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// ResolveSource is the I/O half of the mount rules: it runs as the caller
// after Decide has allowed the path.
func TestResolveSource(t *testing.T) {
	// The temp dir's own path must not pass through a symlink (TMPDIR may).
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	sub := filepath.Join(dir, "sub")
	fifo := filepath.Join(dir, "fifo")
	fileLink := filepath.Join(dir, "file-link")
	dirLink := filepath.Join(dir, "dir-link")
	for _, err := range []error{
		os.WriteFile(file, []byte("x"), 0o644),
		os.Mkdir(sub, 0o755),
		os.WriteFile(filepath.Join(sub, "inner"), []byte("y"), 0o644),
		syscall.Mkfifo(fifo, 0o644),
		os.Symlink(file, fileLink),
		os.Symlink(sub, dirLink),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ name, path, want string }{ // want: "" for success, else part of the error
		{"directory", dir, ""},
		{"subdirectory", sub, ""},
		{"regular file", file, ""},
		{"file in subdirectory", filepath.Join(sub, "inner"), ""},
		{"missing path", filepath.Join(dir, "missing"), "does not exist"},
		{"missing parent", filepath.Join(dir, "missing", "x"), "does not exist"},
		{"file used as a directory", filepath.Join(file, "x"), "does not exist"},
		{"symlink to a file", fileLink, "symlink"},
		{"symlink to a directory", dirLink, "symlink"},
		{"path through a symlinked directory", filepath.Join(dirLink, "inner"), "symlink"},
		{"magic link /proc/self/root", "/proc/self/root", "symlink"},
		{"fifo", fifo, "neither a directory nor a regular file"},
		{"character device", "/dev/null", "neither a directory nor a regular file"},
	}
	// Permission cases: root may read anything, everyone else may not.
	locked := filepath.Join(dir, "locked")
	closed := filepath.Join(dir, "closed")
	for _, err := range []error{
		os.WriteFile(locked, nil, 0o600),
		os.Chmod(locked, 0o000),
		os.Mkdir(closed, 0o755),
		os.WriteFile(filepath.Join(closed, "x"), nil, 0o644),
		os.Chmod(closed, 0o000),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(closed, 0o755) })
	if os.Geteuid() == 0 {
		tests = append(tests,
			struct{ name, path, want string }{"unreadable file, as root", locked, ""},
			struct{ name, path, want string }{"path through a closed directory, as root", filepath.Join(closed, "x"), ""})
	} else {
		tests = append(tests,
			struct{ name, path, want string }{"unreadable file", locked, "not readable by you"},
			struct{ name, path, want string }{"path through a closed directory", filepath.Join(closed, "x"), "not accessible to you"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ResolveSource(tt.path)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ResolveSource(%s): %v", tt.path, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ResolveSource(%s) succeeded, want %q", tt.path, tt.want)
			}
			oneLineErr(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ResolveSource(%s) = %q, want %q", tt.path, err, tt.want)
			}
		})
	}
}

// TestDecideMountTargets: a user mount target may be neither inside nor
// around another mount's target, a site mount's included, nor overlap one of
// Docker's own mounts: runc would create the inner mount point as root in
// the outer mount's host directory. Site mounts are the admin's and are not
// judged against each other or Docker's mounts.
func TestDecideMountTargets(t *testing.T) {
	site := strings.Replace(exampleConfig, `allow = ["/scratch", "/home"]`,
		`allow = ["/scratch", "/home"]`+"\nsite = [\"/etc/passwd:/etc/passwd:ro\", \"/opt/sw:/opt/sw\", \"/opt/sw/lib:/opt/sw/lib:ro\", \"/etc/site.conf:/etc/hosts:ro\"]", 1)
	tests := []struct {
		name   string
		mounts []string
		reason string // "" when allowed
	}{
		{"beside the site mounts", []string{"/scratch/a:/opt/sw2", "/scratch/b:/etc/passwd2"}, ""},
		{"over a site target", []string{"/scratch/a:/opt/sw"}, "mount-target-twice"},
		{"inside a site target", []string{"/scratch/a:/opt/sw/mine"}, "mount-nested"},
		{"inside a site file's target", []string{"/scratch/a:/etc/passwd/x"}, "mount-nested"},
		{"around a site target", []string{"/scratch/a:/opt"}, "mount-nested"},
		{"around a site target that is Docker's too", []string{"/scratch/a:/etc"}, "mount-nested"},
		{"user mounts nested after a good one", []string{"/scratch/a:/a", "/scratch/b:/b", "/scratch/c:/b/c"}, "mount-nested"},
		{"Docker's docker-init", []string{"/scratch/a:/sbin/docker-init:ro"}, "mount-target-reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t)
			p.Config = mustParse(t, site)
			req := testRequest()
			req.Mounts = tt.mounts
			d, dn := denied(Decide(p, testCaller(), testTask(), req))
			switch {
			case tt.reason == "" && dn != nil:
				t.Fatalf("denied: %s: %s", dn.Reason, dn.Msg)
			case tt.reason == "":
				if len(d.Mounts) != 4+len(tt.mounts) {
					t.Errorf("mounts %+v", d.Mounts)
				}
			case dn == nil:
				t.Fatalf("allowed: %+v", d.Mounts)
			case dn.Reason != tt.reason:
				t.Errorf("Reason = %q (%s), want %q", dn.Reason, dn.Msg, tt.reason)
			case !printableLine(dn.Msg) || strings.Contains(dn.Msg, testConfigPath):
				t.Errorf("message %q: want one printable line not naming the config", dn.Msg)
			}
		})
	}
}

func TestDecideMountTargetMessages(t *testing.T) {
	tests := []struct {
		mounts []string
		want   string
	}{
		{[]string{"/scratch/a:/v", "/scratch/b:/v/sub"}, `mount target "/v/sub" is inside mount target "/v": nested mounts are refused`},
		{[]string{"/scratch/b:/v/sub", "/scratch/a:/v"}, `mount target "/v/sub" is inside mount target "/v"`},
		{[]string{"/scratch/a:/etc"}, `mount target "/etc" is refused: it is, is inside or contains /etc/hosts, which Docker mounts itself in every container`},
	}
	for _, tt := range tests {
		req := testRequest()
		req.Mounts = tt.mounts
		_, dn := denied(Decide(testPolicy(t), testCaller(), testTask(), req))
		if dn == nil || !strings.HasPrefix(dn.Msg, tt.want) {
			t.Errorf("Decide(%q) = %v, want a denial starting %q", tt.mounts, dn, tt.want)
		}
	}
}

// mountFor picks the mount a container path lies in: the deepest target
// holding it, by whole components.
func TestMountFor(t *testing.T) {
	mounts := []Mount{
		{Source: "/opt/sw", Target: "/opt/sw", Site: true},
		{Source: "/opt/sw-lib", Target: "/opt/sw/lib", Site: true},
		{Source: "/scratch/a", Target: "/v"},
		{Source: "/scratch/f", Target: "/f"},
	}
	tests := []struct {
		path, source, rel string // source "" when in no mount
	}{
		{"/v", "/scratch/a", "."},
		{"/v/a/b", "/scratch/a", "a/b"},
		{"/vv/a", "", ""},
		{"/", "", ""},
		{"/opt", "", ""},
		{"/opt/sw", "/opt/sw", "."},
		{"/opt/sw/bin", "/opt/sw", "bin"},
		{"/opt/sw/lib", "/opt/sw-lib", "."},
		{"/opt/sw/lib/x", "/opt/sw-lib", "x"},
		{"/opt/sw/libx", "/opt/sw", "libx"},
		{"/f", "/scratch/f", "."},
	}
	for _, tt := range tests {
		i, rel, ok := mountFor(tt.path, mounts)
		var m Mount
		if ok {
			m = mounts[i]
		}
		if ok != (tt.source != "") || m.Source != tt.source || rel != tt.rel {
			t.Errorf("mountFor(%q) = %q, %q, %v; want %q, %q", tt.path, m.Source, rel, ok, tt.source, tt.rel)
		}
	}
}
