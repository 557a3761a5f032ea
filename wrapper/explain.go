package wrapper

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/docker/api/types/container"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/exitcode"
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
	l, cli, closeDocker, err := prepare(unsafeArgs, docs.ExplainUsage, false)
	if err != nil {
		return l.finish(err)
	}
	defer closeDocker()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if l.imageID, err = inspectImage(ctx, cli, l.dec.Image); err != nil {
		return l.finish(err)
	}
	cfg, host := Spec(l.bind, l.imageID, l.proc)
	out, err := json.MarshalIndent(explainOutput{cfg, host, l.dec.Image, l.dec.Task.Parent}, "", "  ")
	if err != nil {
		return l.finish(fmt.Errorf("encoding the spec: %w", err))
	}
	if err := l.audit.Write(l.record("explain")); err != nil {
		return say(exitcode.Config, err.Error())
	}
	fmt.Println(string(out))
	return 0
}
