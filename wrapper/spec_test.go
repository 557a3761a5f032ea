package wrapper

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/security"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	specMesosID = "3f1c7a52-8d4e-4b1a-9c2f-5e6d7a8b9c0d"
	specImageID = "sha256:4c01db0b339c7f8e6a9d2b1e0f3c5a7d9e1b3c5d7f9a1b3c5d7e9f1a3b5c7d9e"
)

var specWrapper = Wrapper{Launch: "0123456789abcdef0123456789abcdef", HostPID: 4242}

// specDecision is a fixed, allowed decision as security.Decide returns it.
func specDecision() security.Decision {
	return security.Decision{
		Caller: security.Caller{
			UID: 1500, GID: 1500, Groups: []uint32{1500, 1501}, Name: "alice", Home: "/home/alice",
			Limits: []security.Limit{
				{Name: "core", Soft: 0, Hard: security.Unlimited},
				{Name: "nofile", Soft: 1024, Hard: 4096},
				{Name: "nproc", Soft: security.Unlimited, Hard: security.Unlimited},
				{Name: "stack", Soft: 8 << 20, Hard: security.Unlimited},
			},
		},
		Image: "docker.io/socker-test/tiny:1",
		Mounts: []security.Mount{
			{Source: "/scratch/alice", Target: "/data"},
			{Source: "/home/alice/ref", Target: "/ref", ReadOnly: true},
		},
		Workdir: "/data",
		Env: []string{
			"PATH=" + security.DefaultPath, "HOME=/home/alice", "USER=alice", "LOGNAME=alice",
			"OMP_NUM_THREADS=4",
		},
		Command: []string{"python3", "train.py", "--epochs", "3"},
		Task: cgroup.Task{
			Parent:      "/mesos/" + specMesosID,
			ContainerID: specMesosID,
			Mode:        cgroup.V1,
			Controllers: []string{"cpu", "cpuacct", "freezer", "memory"},
		},
		Network:   "none",
		PidsLimit: 4096,
	}
}

// specPair is what the wrapper sends to ContainerCreate.
type specPair struct {
	Config     *container.Config
	HostConfig *container.HostConfig
}

func TestSpecGolden(t *testing.T) {
	cfg, host := Spec(specDecision(), specImageID, specWrapper)
	got, err := json.MarshalIndent(specPair{cfg, host}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "spec.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./wrapper -run TestSpecGolden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Spec differs from %s (review, then rerun with -update):\n%s", golden, got)
	}
}

func TestSpecInvariants(t *testing.T) {
	d := specDecision()
	cfg, host := Spec(d, specImageID, specWrapper)

	t.Run("config", func(t *testing.T) {
		if cfg.Image != specImageID {
			t.Errorf("Image = %q, want the pinned id %q", cfg.Image, specImageID)
		}
		if cfg.User != "1500:1500" {
			t.Errorf("User = %q, want 1500:1500", cfg.User)
		}
		if !reflect.DeepEqual([]string(cfg.Cmd), d.Command) {
			t.Errorf("Cmd = %q, want %q", cfg.Cmd, d.Command)
		}
		if cfg.Entrypoint == nil || len(cfg.Entrypoint) != 0 {
			t.Errorf("Entrypoint = %#v, want empty and non-nil", cfg.Entrypoint)
		}
		if !reflect.DeepEqual(cfg.Env, d.Env) || cfg.WorkingDir != "/data" {
			t.Errorf("Env %q WorkingDir %q", cfg.Env, cfg.WorkingDir)
		}
		if cfg.Hostname != "" || cfg.Domainname != "" || cfg.Healthcheck != nil || cfg.Volumes != nil ||
			cfg.ExposedPorts != nil || cfg.OnBuild != nil || cfg.Shell != nil || cfg.StopSignal != "" {
			t.Errorf("unexpected config field set: %+v", cfg)
		}
	})

	t.Run("entrypoint marshals as []", func(t *testing.T) {
		raw := map[string]json.RawMessage{}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		if got := string(raw["Entrypoint"]); got != "[]" {
			t.Errorf("Entrypoint marshals as %s, want [] (null would use the image's entrypoint)", got)
		}
	})

	t.Run("labels", func(t *testing.T) {
		want := map[string]string{
			LabelUID:        "1500",
			LabelGID:        "1500",
			LabelUser:       "alice",
			LabelCgroup:     "/mesos/" + specMesosID,
			LabelMesosID:    specMesosID,
			LabelImage:      "docker.io/socker-test/tiny:1",
			LabelLaunch:     "0123456789abcdef0123456789abcdef",
			LabelWrapperPID: "4242",
		}
		if !reflect.DeepEqual(cfg.Labels, want) {
			t.Errorf("Labels = %v, want %v", cfg.Labels, want)
		}
		if LabelUID != "socker.uid" || LabelGID != "socker.gid" || LabelUser != "socker.user" ||
			LabelCgroup != "socker.cgroup" || LabelMesosID != "socker.mesos-container-id" ||
			LabelImage != "socker.image" || LabelWrapperPID != "socker.wrapper-pid" ||
			LabelLaunch != "socker.launch" {
			t.Error("label names changed: socker gc and admins depend on them")
		}
	})

	t.Run("host config", func(t *testing.T) {
		if !reflect.DeepEqual(host.GroupAdd, []string{"1500", "1501"}) {
			t.Errorf("GroupAdd = %q, want numeric [1500 1501]", host.GroupAdd)
		}
		if !reflect.DeepEqual([]string(host.CapDrop), []string{"ALL"}) {
			t.Errorf("CapDrop = %q", host.CapDrop)
		}
		if !reflect.DeepEqual(host.SecurityOpt, []string{"no-new-privileges:true"}) {
			t.Errorf("SecurityOpt = %q", host.SecurityOpt)
		}
		if host.Privileged {
			t.Error("Privileged")
		}
		if host.Init == nil || !*host.Init {
			t.Errorf("Init = %v, want true", host.Init)
		}
		if host.PidsLimit == nil || *host.PidsLimit != 4096 {
			t.Errorf("PidsLimit = %v, want 4096", host.PidsLimit)
		}
		if host.CgroupParent != d.Task.Parent {
			t.Errorf("CgroupParent = %q, want %q", host.CgroupParent, d.Task.Parent)
		}
		wantUlimits := []*container.Ulimit{
			{Name: "core", Soft: 0, Hard: -1},
			{Name: "nofile", Soft: 1024, Hard: 4096},
			{Name: "nproc", Soft: -1, Hard: -1},
			{Name: "stack", Soft: 8 << 20, Hard: -1},
		}
		if !reflect.DeepEqual(host.Ulimits, wantUlimits) {
			t.Errorf("Ulimits = %v, want the caller's limits %v (-1: unlimited)", host.Ulimits, wantUlimits)
		}
		if host.NetworkMode != "none" {
			t.Errorf("NetworkMode = %q", host.NetworkMode)
		}
		if host.IpcMode != "private" || host.LogConfig.Type != "none" {
			t.Errorf("IpcMode %q LogConfig %+v", host.IpcMode, host.LogConfig)
		}
		if host.Binds != nil || host.CapAdd != nil || host.Devices != nil || host.PidMode != "" ||
			host.UsernsMode != "" || host.VolumesFrom != nil || host.Sysctls != nil ||
			host.ReadonlyPaths != nil || host.MaskedPaths != nil || host.Tmpfs != nil ||
			host.DeviceCgroupRules != nil || host.DeviceRequests != nil || host.CgroupnsMode != "" ||
			host.UTSMode != "" || host.Runtime != "" || host.AutoRemove || host.PublishAllPorts ||
			host.ExtraHosts != nil || host.Links != nil || host.OomKillDisable != nil {
			t.Errorf("unexpected host config field set: %+v", host)
		}
	})

	t.Run("mounts", func(t *testing.T) {
		want := []mount.Mount{
			{Type: mount.TypeBind, Source: "/scratch/alice", Target: "/data",
				BindOptions: &mount.BindOptions{Propagation: mount.PropagationRPrivate, NonRecursive: true}},
			{Type: mount.TypeBind, Source: "/home/alice/ref", Target: "/ref", ReadOnly: true,
				BindOptions: &mount.BindOptions{Propagation: mount.PropagationRPrivate, NonRecursive: true}},
		}
		if !reflect.DeepEqual(host.Mounts, want) {
			t.Errorf("Mounts = %+v, want %+v", host.Mounts, want)
		}
		for _, m := range host.Mounts {
			if m.BindOptions == nil || m.BindOptions.Propagation != mount.PropagationRPrivate || !m.BindOptions.NonRecursive ||
				m.BindOptions.CreateMountpoint || m.VolumeOptions != nil || m.TmpfsOptions != nil {
				t.Errorf("mount %+v", m)
			}
		}
	})

	t.Run("host config JSON has no dangerous keys set", func(t *testing.T) {
		b, err := json.Marshal(host)
		if err != nil {
			t.Fatal(err)
		}
		raw := map[string]any{}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"Binds", "CapAdd", "Devices", "PidMode", "UsernsMode", "VolumesFrom",
			"VolumeDriver", "Sysctls", "DeviceRequests", "DeviceCgroupRules", "SecurityOpt"} {
			v, present := raw[k]
			if k == "SecurityOpt" {
				if !reflect.DeepEqual(v, []any{"no-new-privileges:true"}) {
					t.Errorf("%s = %#v", k, v)
				}
				continue
			}
			if present && !emptyJSON(v) {
				t.Errorf("%s = %#v, want empty", k, v)
			}
		}
		if raw["Privileged"] != false {
			t.Errorf("Privileged = %#v", raw["Privileged"])
		}
	})
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func TestSpecVariants(t *testing.T) {
	t.Run("caller without name gets the uid as user label", func(t *testing.T) {
		d := specDecision()
		d.Caller.Name = ""
		cfg, _ := Spec(d, specImageID, Wrapper{HostPID: 1})
		if cfg.Labels[LabelUser] != "1500" || cfg.Labels[LabelWrapperPID] != "1" {
			t.Errorf("labels %v", cfg.Labels)
		}
	})
	t.Run("no groups and no mounts", func(t *testing.T) {
		d := specDecision()
		d.Caller.Groups = nil
		d.Mounts = nil
		_, host := Spec(d, specImageID, Wrapper{HostPID: 1})
		if host.GroupAdd == nil || len(host.GroupAdd) != 0 || host.Mounts != nil {
			t.Errorf("GroupAdd %#v Mounts %#v", host.GroupAdd, host.Mounts)
		}
	})
	t.Run("network host and pids limit from the decision", func(t *testing.T) {
		d := specDecision()
		d.Network, d.PidsLimit = "host", 7
		cfg, host := Spec(d, specImageID, Wrapper{HostPID: 1})
		if host.NetworkMode != "host" || *host.PidsLimit != 7 {
			t.Errorf("NetworkMode %q PidsLimit %d", host.NetworkMode, *host.PidsLimit)
		}
		if cfg.User != "1500:1500" {
			t.Errorf("User %q", cfg.User)
		}
	})
	t.Run("the site's seccomp profile, after no-new-privileges", func(t *testing.T) {
		d := specDecision()
		if _, host := Spec(d, specImageID, Wrapper{HostPID: 1}); !reflect.DeepEqual(host.SecurityOpt, []string{"no-new-privileges:true"}) {
			t.Errorf("no profile configured: SecurityOpt %q, want only no-new-privileges (Docker's built-in profile)", host.SecurityOpt)
		}
		d.Seccomp = []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}`)
		_, host := Spec(d, specImageID, Wrapper{HostPID: 1})
		want := []string{"no-new-privileges:true", `seccomp={"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}`}
		if !reflect.DeepEqual(host.SecurityOpt, want) {
			t.Errorf("SecurityOpt %q, want %q", host.SecurityOpt, want)
		}
	})
	t.Run("distinct uid and gid", func(t *testing.T) {
		d := specDecision()
		d.Caller.UID, d.Caller.GID = 2001, 3002
		cfg, _ := Spec(d, specImageID, Wrapper{HostPID: 1})
		if cfg.User != "2001:3002" || cfg.Labels[LabelUID] != "2001" || cfg.Labels[LabelGID] != "3002" {
			t.Errorf("User %q labels %v", cfg.User, cfg.Labels)
		}
	})
	t.Run("every limit of the caller, none of dockerd's", func(t *testing.T) {
		d := specDecision()
		d.Caller.Limits = nil
		for i, name := range []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
			"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"} {
			d.Caller.Limits = append(d.Caller.Limits, security.Limit{Name: name, Soft: uint64(i), Hard: uint64(2 * i)})
		}
		_, host := Spec(d, specImageID, Wrapper{HostPID: 1})
		if len(host.Ulimits) != len(d.Caller.Limits) {
			t.Fatalf("%d ulimits, want %d", len(host.Ulimits), len(d.Caller.Limits))
		}
		for i, u := range host.Ulimits {
			if l := d.Caller.Limits[i]; u.Name != l.Name || u.Soft != int64(l.Soft) || u.Hard != int64(l.Hard) {
				t.Errorf("ulimit %+v, want %+v", *u, l)
			}
		}
		d.Caller.Limits = nil
		if _, host := Spec(d, specImageID, Wrapper{HostPID: 1}); host.Ulimits != nil {
			t.Errorf("no limits known: Ulimits = %v, want none", host.Ulimits)
		}
	})
	t.Run("specs do not share the pids limit", func(t *testing.T) {
		d := specDecision()
		_, h1 := Spec(d, specImageID, Wrapper{HostPID: 1})
		*h1.PidsLimit = 1 << 30
		_, h2 := Spec(d, specImageID, Wrapper{HostPID: 1})
		if *h2.PidsLimit != 4096 {
			t.Errorf("PidsLimit %d", *h2.PidsLimit)
		}
	})
}
