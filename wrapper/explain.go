package wrapper

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// explainOutput is what `socker explain` prints: the exact body `socker run`
// would send to ContainerCreate, plus the decision it came from.
type explainOutput struct {
	Config     *container.Config     `json:"Config"`
	HostConfig *container.HostConfig `json:"HostConfig"`
	Image      string                `json:"image"`
	Cgroup     string                `json:"cgroup"`
}

// explain runs the whole of `socker run` up to the container spec — the
// same checks, as the same users, against the same daemon — prints the spec
// as JSON, and starts nothing. A refusal is printed (and audited) exactly as
// run would.
func explain(unsafeArgs []string) int {
	l, cli, done, f := prepare(unsafeArgs, docs.ExplainUsage, false)
	if f != nil {
		return l.finish(f)
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if l.image, f = l.inspectImage(ctx, cli, l.dec.Image); f != nil {
		return l.finish(f)
	}
	cfg, host := Spec(l.dec, l.image, self())
	out, err := json.MarshalIndent(explainOutput{cfg, host, l.dec.Image, l.dec.Task.Parent}, "", "  ")
	if err != nil {
		return l.finish(failed(exitcode.Software, "internal", "encoding the spec: "+err.Error()))
	}
	if err := l.audit.Write(l.record("explain")); err != nil {
		return say(exitcode.Config, err.Error())
	}
	fmt.Println(string(out))
	return 0
}

// images lists the images the policy lets the caller run, and whether each
// is present on this node. A caller the policy refuses gets the refusal.
func images(unsafeArgs []string) int {
	l, f := begin()
	if f == nil && len(unsafeArgs) != 0 {
		f = denied(exitcode.Usage, "usage", "socker images takes no arguments")
	}
	if f == nil {
		if dn := security.DecideCaller(l.policy(), l.caller); dn != nil {
			f = denied(exitcode.Denied, dn.Reason, dn.Msg)
		}
	}
	if f != nil {
		return l.finish(f)
	}
	cli, done, f := l.connect()
	if f != nil {
		return l.finish(f)
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	for _, ref := range l.cfg.Images.Allow {
		state := "present"
		if _, err := cli.ImageInspect(ctx, ref); err != nil {
			state = "not on this node"
		}
		fmt.Printf("%s\t%s\n", ref, state)
	}
	return 0
}
