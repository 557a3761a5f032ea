package wrapper

import (
	"context"
	"errors"
	"fmt"

	"github.com/sockerhpc/socker/internal/exitcode"
)

// images is `socker images`: the images the policy lets the caller run,
// and whether each is present on this node. A caller the policy refuses
// gets the refusal, before anything reaches Docker.
func images(unsafeArgs []string) int {
	s, err := begin()
	if err == nil && len(unsafeArgs) != 0 {
		err = refused(exitcode.Usage, "usage", errors.New("socker images takes no arguments"))
	}
	if err == nil {
		err = s.allowCaller()
	}
	if err != nil {
		return s.finish(err)
	}
	cli, closeDocker, err := connectAsRoot(connBudget)
	if err != nil {
		return s.finish(failed(exitcode.Unavailable, "docker-unavailable", err))
	}
	defer closeDocker()
	if err := dropRoot(s.caller, nil); err != nil {
		return s.finish(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	for _, ref := range s.cfg.Images.Allow {
		state := "present"
		if _, err := cli.ImageInspect(ctx, ref); err != nil {
			state = "not on this node"
		}
		fmt.Printf("%s\t%s\n", ref, state)
	}
	return 0
}
