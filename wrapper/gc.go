package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"
	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// gcTimeout bounds each Docker call of a gc run.
const gcTimeout = time.Minute

// gc is `socker gc`, for real root only (socker-gc.timer runs it every
// minute). It force-removes the containers socker started whose wrapper
// process or Mesos task is gone (orphaned), then, on cgroup v1, the empty
// task cgroups Docker leaves in the hierarchies Mesos does not manage. Each
// removal is audited. It is idempotent: a second run finds nothing.
func gc(unsafeArgs []string) int {
	s, err := begin()
	// The binary is setuid: the effective uid is 0 for every caller, the
	// real uid says who called.
	if err == nil && s.caller.UID != 0 {
		err = refused(exitcode.Denied, "gc-not-root", errors.New("socker gc removes other users' containers, so only root may run it (socker-gc.timer does, every minute)"))
	}
	if err == nil && len(unsafeArgs) != 0 {
		err = refused(exitcode.Usage, "usage", errors.New("socker gc takes no arguments"))
	}
	if err != nil {
		return s.finish(err)
	}
	defer s.audit.Close()

	mode, err := cgroup.HostMode()
	if err != nil {
		return s.finish(failed(exitcode.Unavailable, "cgroup-unavailable", err))
	}
	// As root, who keeps root. Without Docker (and so without Docker's
	// side of the node, where the staging is) only the cgroups are looked
	// at: what gc cannot judge it keeps.
	removed, code := 0, 0
	cli, side, closeDocker, err := connectWithSide(2)
	if err != nil {
		code = s.finish(failed(exitcode.Unavailable, "docker-unavailable", err))
	} else {
		defer closeDocker()
		removed, code = s.removeOrphans(cli, side, mode)
	}
	// exitcode.Config: an audit record could not be written; remove nothing more.
	if mode == cgroup.V1 && code != exitcode.Config {
		n, cgCode := s.gcCgroups()
		removed += n
		if code == 0 {
			code = cgCode
		}
	}
	// The staging directories (and their mounts) of wrappers that are gone.
	if side != nil && code != exitcode.Config {
		var n int
		side.do(func() error { n, err = gcStaging(); return nil })
		removed += n
		if err != nil {
			c := s.finish(failed(exitcode.Unavailable, "staging-remove", fmt.Errorf("removing a staging directory under %s: %w", stagingRoot, err)))
			if code == 0 {
				code = c
			}
		}
	}
	fmt.Printf("socker gc: %d removed\n", removed)
	return code
}

// removeOrphans removes the orphaned containers (see orphaned) cli lists;
// side is Docker's side of the node, where the staging locks are.
func (s *session) removeOrphans(cli dockerAPI, side *dockerSide, mode cgroup.Mode) (int, int) {
	ctx, cancel := context.WithTimeout(context.Background(), gcTimeout)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelUID))})
	if err != nil {
		return 0, s.finish(failed(exitcode.Unavailable, "docker-unavailable", fmt.Errorf("listing socker's containers: %w", err)))
	}
	host := hostProbe{side: side, root: cgroup.Root, mode: mode}
	removed, code := 0, 0
	for _, c := range list {
		reason, detail := orphaned(c.Labels, host)
		if reason == "" {
			continue
		}
		err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if errdefs.IsNotFound(err) {
			continue // its wrapper (or another gc) was faster
		}
		if err != nil {
			code = s.finish(failed(exitcode.Unavailable, "docker-remove", fmt.Errorf("removing orphaned container %s: %w", c.ID, err)))
			continue
		}
		r := s.gcRecord(reason, fmt.Sprintf("removed container %s: %s", short(c.ID), detail))
		r.ContainerID = c.ID
		r.UID, r.GID, r.User = labelID(c.Labels[LabelUID]), labelID(c.Labels[LabelGID]), c.Labels[LabelUser]
		r.Image, r.Cgroup, r.MesosContainerID = c.Labels[LabelImage], c.Labels[LabelCgroup], c.Labels[LabelMesosID]
		if err := s.audit.Write(r); err != nil {
			return removed, say(exitcode.Config, err.Error())
		}
		fmt.Printf("socker gc: %s (%s, user %s)\n", r.Message, reason, r.User)
		removed++
	}
	return removed, code
}

// gcCgroups removes the empty task cgroups Docker left in the v1
// hierarchies Mesos does not manage, for tasks Mesos has destroyed. rmdir(2)
// removes only an empty cgroup, so a directory still in use stays.
func (s *session) gcCgroups() (int, int) {
	h, err := cgroup.V1Hierarchies(cgroup.Root)
	if err != nil {
		return 0, s.finish(failed(exitcode.Unavailable, "cgroup-unavailable", err))
	}
	left, err := cgroup.Leftovers(h)
	if err != nil {
		return 0, s.finish(failed(exitcode.Unavailable, "cgroup-unavailable", err))
	}
	removed := 0
	for _, lo := range left {
		var gone []string
		for _, dir := range lo.Dirs {
			err := unix.Rmdir(dir)
			switch {
			case err == nil:
				gone = append(gone, strings.TrimPrefix(strings.TrimSuffix(dir, lo.Path), cgroup.Root+"/"))
			case errors.Is(err, unix.ENOTEMPTY), errors.Is(err, unix.EBUSY), errors.Is(err, fs.ErrNotExist):
				// in use, or already gone: not ours to touch
			default:
				say(0, fmt.Sprintf("gc: removing empty cgroup %s: %v", dir, err))
			}
		}
		if len(gone) == 0 {
			continue
		}
		r := s.gcRecord("cgroup-leftover", fmt.Sprintf("removed empty cgroup %s left in %s", lo.Path, strings.Join(gone, ", ")))
		r.Cgroup = lo.Path
		r.MesosContainerID = lo.Path[strings.LastIndexByte(lo.Path, '/')+1:]
		if err := s.audit.Write(r); err != nil {
			return removed, say(exitcode.Config, err.Error())
		}
		fmt.Printf("socker gc: %s\n", r.Message)
		removed++
	}
	return removed, 0
}

// gcRecord is the audit record of one removal by gc, done by root; callers
// set the owner of what was removed, when known.
func (s *session) gcRecord(reason, msg string) security.Record {
	return security.Record{
		Event:      "gc",
		Reason:     reason,
		Message:    msg,
		User:       "root",
		Host:       s.host,
		PID:        os.Getpid(),
		Version:    build.Version,
		ConfigHash: s.cfg.Hash,
	}
}

func labelID(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// probe answers gc's questions about this host; tests fake it.
type probe interface {
	// launchAlive reports whether the wrapper of a launch id still holds
	// its staging lock (stage.go).
	launchAlive(launch string) (bool, error)
	// taskExists reports whether the Mesos task cgroup path still exists.
	taskExists(path string) (bool, error)
}

// orphaned decides, from a socker container's labels, whether gc removes it:
// it returns the reason ("wrapper-gone" or "task-cgroup-gone") and a detail,
// or "" to keep it. It keeps whatever it cannot judge: a malformed label, a
// probe error. A container of an older socker (no launch label) is judged
// by its task cgroup alone: its pid labels mean nothing across pid
// namespaces.
func orphaned(labels map[string]string, p probe) (reason, detail string) {
	if launch := labels[LabelLaunch]; isLaunchID(launch) {
		if alive, err := p.launchAlive(launch); err == nil && !alive {
			return "wrapper-gone", fmt.Sprintf("its wrapper (launch %s, host pid %s) is gone: its staging lock is free", launch, labels[LabelWrapperPID])
		}
	}
	if path := labels[LabelCgroup]; cgroup.IsTaskPath(path) {
		if in, err := p.taskExists(path); err == nil && !in {
			return "task-cgroup-gone", fmt.Sprintf("its Mesos task cgroup %s no longer exists", path)
		}
	}
	return "", ""
}

// hostProbe is probe on this host, the staging locks looked at on
// Docker's side.
type hostProbe struct {
	side *dockerSide
	root string
	mode cgroup.Mode
}

func (h hostProbe) launchAlive(launch string) (alive bool, err error) {
	h.side.do(func() error {
		alive, err = launchAlive(launch)
		return nil
	})
	return alive, err
}

func (h hostProbe) taskExists(path string) (bool, error) {
	return cgroup.TaskExists(h.root, h.mode, path)
}
