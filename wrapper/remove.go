package wrapper

// Step 8 of run: removal, whatever happened before. Privileges: none, the
// caller's (over a Docker connection opened as root).

import (
	"context"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
)

// remove deletes container id, running or not, with its anonymous volumes
// (an image's VOLUME): no user data stays behind. One that is gone already
// is no error.
func remove(cli dockerAPI, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
		say(0, "removing container "+id+": "+err.Error())
	}
}
