package wrapper

// `socker run` from argv to exit status, step by step; each step is a file
// of its own (see doc.go for the order and the privileges each holds).

import (
	"context"
	"os"
	"time"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// setupTimeout bounds the Docker calls that set the container up (inspect,
// create, start, the placement check) and remove it. Attaching to and
// waiting for the container are not bounded: a job may run for days.
const setupTimeout = 2 * time.Minute

// launch is what one run (or explain) has found out so far, for its audit
// records. run sets each field from the step that finds it out.
type launch struct {
	*session
	proc    Wrapper               // this process, as gc knows it (prepare)
	side    *dockerSide           // Docker's side of the node (prepare; run only)
	req     security.Request      // what the caller asked (decide)
	dec     security.Decision     // what the policy allowed (decide)
	bind    security.Decision     // dec, its user mounts' sources the staged clones (pinAndStage)
	bound   []security.BoundMount // what each staged mount binds (pinAndStage)
	imageID string                // the image the container is made of (inspectImage)
	cid     string                // the container (createContainer)
}

// record is an audit record of this launch: the session's, plus the
// request, the decision and the container as far as they are known.
func (l *launch) record(event string) security.Record {
	r := l.session.record(event)
	r.Image, r.Command = l.req.Image, l.req.Command
	r.ImageID, r.ContainerID = l.imageID, l.cid
	r.Launch, r.HostPID = l.proc.Launch, l.proc.HostPID
	if l.side != nil {
		r.DockerMountNS = l.side.MountNS
	}
	if l.dec.Image != "" {
		r.Image, r.Mounts, r.Bound = l.dec.Image, l.dec.Mounts, l.bound
		r.Cgroup, r.MesosContainerID = l.dec.Task.Parent, l.dec.Task.ContainerID
	}
	return r
}

// finish reports err with what the launch knew (see session.report).
func (l *launch) finish(err error) int { return l.report(err, l.record) }

// prepare is steps 1 to 4, the same for run and explain: begin, decide,
// open the Docker connections as root (for run, with Docker's side of the
// node and this run's staging directory there), pin (and, for run, stage)
// the mount sources, drop root. The launch is returned in any case, to
// report a failure; the returned function closes the Docker connections.
func prepare(unsafeArgs []string, usageLine string, stage bool) (*launch, dockerAPI, func(), error) {
	s, err := begin()
	l := &launch{session: s}
	if err != nil {
		return l, nil, nil, err
	}
	if l.req, l.dec, err = s.decide(unsafeArgs, usageLine); err != nil {
		return l, nil, nil, err
	}
	cli, closeDocker, st, err := l.connect(stage)
	if err != nil {
		return l, nil, nil, err
	}
	if l.bind, l.bound, err = pinAndStage(s.caller, l.dec, st); err != nil {
		closeDocker()
		return l, nil, nil, err
	}
	if err := dropRoot(s.caller, l.side); err != nil {
		closeDocker()
		return l, nil, nil, err
	}
	return l, cli, closeDocker, nil
}

// connect opens the Docker connections as root. For run it also enters
// Docker's side of the node and makes this run's staging directory there,
// whose lock tells socker gc that this wrapper lives (stage.go).
func (l *launch) connect(stage bool) (dockerAPI, func(), *staging, error) {
	if !stage {
		cli, closeDocker, err := connectAsRoot(connBudget)
		if err != nil {
			return nil, nil, nil, failed(exitcode.Unavailable, "docker-unavailable", err)
		}
		l.proc = Wrapper{HostPID: os.Getpid()} // what explain shows; it stages nothing
		return cli, closeDocker, nil, nil
	}
	cli, side, closeDocker, err := connectWithSide(connBudget)
	if err != nil {
		return nil, nil, nil, failed(exitcode.Unavailable, "docker-unavailable", err)
	}
	st, err := newStaging(side)
	if err != nil {
		closeDocker()
		return nil, nil, nil, failed(exitcode.Unavailable, "mount-staging", err)
	}
	l.side = side
	l.proc = Wrapper{Launch: st.launch, HostPID: side.hostPID()}
	return cli, closeDocker, st, nil
}

// run is `socker run`; sigs receives stopSignals (see Main).
func run(unsafeArgs []string, sigs chan os.Signal) int {
	l, cli, closeDocker, err := prepare(unsafeArgs, docs.RunUsage, true)
	if err != nil {
		return l.finish(err)
	}
	defer closeDocker()
	return l.runContainer(cli, sigs)
}

// runContainer is steps 5 to 8, as the caller: create the container (and
// audit its start), start it and check where it landed, supervise it, and
// remove it whatever happened.
func (l *launch) runContainer(cli dockerAPI, sigs chan os.Signal) int {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	var err error
	if l.imageID, err = inspectImage(ctx, cli, l.dec.Image); err != nil {
		return l.finish(err)
	}
	if err := stoppedBefore(sigs, "created"); err != nil {
		return l.finish(err)
	}
	if l.cid, err = createContainer(ctx, cli, l.bind, l.imageID, l.proc); err != nil {
		return l.finish(err)
	}
	defer remove(cli, l.cid)
	// Fail closed: nothing starts unless its record is on disk.
	if err := l.audit.Write(l.record("start")); err != nil {
		return say(exitcode.Config, "refusing to start: "+err.Error())
	}
	c, err := attach(cli, l.cid)
	if err != nil {
		return l.finish(err)
	}
	defer c.close()
	if err := stoppedBefore(sigs, "started"); err != nil {
		return l.finish(err)
	}
	init, verified, err := startContainer(ctx, cli, l.cid, l.dec.Task, l.side)
	if err != nil {
		return l.finish(err)
	}
	grace := time.Duration(l.cfg.Container.StopGraceSeconds) * time.Second
	status, err := supervise(cli, l.cid, init, grace, c.waitC, c.errC, sigs)
	if err != nil {
		return l.finish(err)
	}
	c.drained(10 * time.Second)
	return l.exit(status, verified)
}

// exit writes the exit record and returns the container's status.
func (l *launch) exit(status int, verified bool) int {
	r := l.record("exit")
	r.ExitStatus = &status
	r.CgroupVerified = &verified
	ms := time.Since(l.start).Milliseconds()
	r.DurationMS = &ms
	if err := l.audit.Write(r); err != nil {
		say(status, err.Error())
	}
	return status
}
