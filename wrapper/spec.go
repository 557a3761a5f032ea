package wrapper

import (
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/strslice"

	"github.com/sockerhpc/socker/security"
)

// Labels socker puts on every container it creates. socker gc and admins
// find containers and their owners by them.
const (
	LabelUID     = "socker.uid"
	LabelGID     = "socker.gid"
	LabelUser    = "socker.user"
	LabelCgroup  = "socker.cgroup"
	LabelMesosID = "socker.mesos-container-id"
	LabelImage   = "socker.image"
	// The wrapper's launch id: the name of its staging directory, whose
	// lock it holds while it lives (stage.go); socker gc judges the
	// container by that lock.
	LabelLaunch = "socker.launch"
	// The wrapper's pid as the host numbers it, for admins (gc does not
	// use it: a pid says nothing across pid namespaces).
	LabelWrapperPID = "socker.wrapper-pid"
)

// Wrapper identifies the socker process that supervises a container: its
// launch id (32 hex digits, random) and its pid as Docker's side of the
// node numbers it (0 if unknown).
type Wrapper struct {
	Launch  string
	HostPID int
}

// ulimits are the container's resource limits: the caller's, as socker
// inherited them (a Mesos task's posix/rlimits, limits.conf), so that
// running in a container does not trade them for dockerd's. Docker takes
// RLIM_INFINITY as -1; every other value converts back exactly.
func ulimits(limits []security.Limit) []*container.Ulimit {
	var out []*container.Ulimit
	for _, l := range limits {
		out = append(out, &container.Ulimit{Name: l.Name, Soft: int64(l.Soft), Hard: int64(l.Hard)})
	}
	return out
}

// Spec builds the container configuration from zero values: every field set
// here is on purpose, nothing comes from the caller except through the
// Decision, and no caller string becomes a daemon option. imageID pins the
// image the policy check resolved, so a re-tag cannot swap it. w is the
// socker process that runs it. The container has the caller's resource
// limits (see ulimits).
func Spec(d security.Decision, imageID string, w Wrapper) (*container.Config, *container.HostConfig) {
	return containerConfig(d, imageID, w), hostConfig(d)
}

// containerConfig is the container's own part of Spec: the process, its
// identity and the labels gc reads.
func containerConfig(d security.Decision, imageID string, w Wrapper) *container.Config {
	uid := strconv.FormatUint(uint64(d.Caller.UID), 10)
	gid := strconv.FormatUint(uint64(d.Caller.GID), 10)
	user := d.Caller.Name
	if user == "" {
		user = uid
	}
	cfg := &container.Config{
		Image:        imageID,
		User:         uid + ":" + gid,
		Env:          d.Env,
		Cmd:          strslice.StrSlice(d.Command),
		Entrypoint:   strslice.StrSlice{}, // empty, not nil: the image's entrypoint is not used
		WorkingDir:   d.Workdir,
		AttachStdin:  true,
		AttachStdout: true,
		AttachStderr: true,
		OpenStdin:    true,
		StdinOnce:    true,
		Labels: map[string]string{
			LabelUID:        uid,
			LabelGID:        gid,
			LabelUser:       user,
			LabelCgroup:     d.Task.Parent,
			LabelMesosID:    d.Task.ContainerID,
			LabelImage:      d.Image,
			LabelLaunch:     w.Launch,
			LabelWrapperPID: strconv.Itoa(w.HostPID),
		},
	}
	return cfg
}

// hostConfig is the host's part of Spec: groups, confinement, cgroup,
// limits and mounts.
func hostConfig(d security.Decision) *container.HostConfig {
	groups := []string{}
	for _, g := range d.Caller.Groups {
		groups = append(groups, strconv.FormatUint(uint64(g), 10))
	}
	init := true
	pids := d.PidsLimit
	secopt := []string{"no-new-privileges:true"}
	if d.Seccomp != nil {
		secopt = append(secopt, "seccomp="+string(d.Seccomp))
	}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(d.Network),
		IpcMode:     "private",
		GroupAdd:    groups,
		CapDrop:     strslice.StrSlice{"ALL"},
		SecurityOpt: secopt,
		Privileged:  false,
		Init:        &init,
		LogConfig:   container.LogConfig{Type: "none"},
		Resources: container.Resources{
			CgroupParent: d.Task.Parent,
			PidsLimit:    &pids,
			Ulimits:      ulimits(d.Caller.Limits),
		},
	}
	for _, m := range d.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
			BindOptions: &mount.BindOptions{
				Propagation:  mount.PropagationRPrivate,
				NonRecursive: true,
			},
		})
	}
	return host
}
