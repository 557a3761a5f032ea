package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/sockerhpc/socker/security"
)

// dockerAPI is every Docker call socker makes, as *client.Client has them:
// run and explain resolve the image, create, attach, start, inspect, wait
// for, signal and remove a container; gc lists and removes; doctor asks for
// Info. Tests put a fake in its place.
type dockerAPI interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	ContainerKill(ctx context.Context, id, signal string) error
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	Info(ctx context.Context) (system.Info, error)
}

var _ dockerAPI = (*client.Client)(nil)

// DockerSocket is the only Docker endpoint socker talks to (see
// security.DockerSocket).
const DockerSocket = security.DockerSocket

// connBudget is how many connections are opened as root before the drop.
// A run needs three at a time (wait, attach, and one for the other calls);
// the rest cover a stop or kill racing with them.
const connBudget = 6

// connPool hands out Docker connections opened while still root. After the
// privilege drop the process can no longer connect to the socket itself, so
// the HTTP transport may use only these; when they run out, requests fail.
type connPool struct {
	conns chan net.Conn
}

// dialPool opens n connections to the Docker socket. Call it as root.
func dialPool(n int) (*connPool, error) {
	p := &connPool{conns: make(chan net.Conn, n)}
	for range n {
		c, err := net.Dial("unix", DockerSocket)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("connecting to the Docker daemon at %s: %w", DockerSocket, err)
		}
		p.conns <- c
	}
	return p, nil
}

func (p *connPool) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	default:
		return nil, errors.New("no pre-opened Docker connection left")
	}
}

func (p *connPool) close() {
	for {
		select {
		case c := <-p.conns:
			c.Close()
		default:
			return
		}
	}
}

// connectAsRoot opens n Docker connections as root (call it before the
// privilege drop) and returns a client that can use only those, whoever the
// process is by then, and the function that closes it all.
func connectAsRoot(n int) (*client.Client, func(), error) {
	pool, err := dialPool(n)
	if err != nil {
		return nil, nil, err
	}
	cli, err := newClient(pool)
	if err != nil {
		pool.close()
		return nil, nil, fmt.Errorf("creating Docker client: %w", err)
	}
	return cli, func() { cli.Close(); pool.close() }, nil
}

// connectWithSide is connectAsRoot, plus Docker's side of the node
// (dockerside.go), entered from the first connection's peer: the daemon
// that will serve the requests. Call it as root.
func connectWithSide(n int) (*client.Client, *dockerSide, func(), error) {
	pool, err := dialPool(n)
	if err != nil {
		return nil, nil, nil, err
	}
	c := <-pool.conns
	pool.conns <- c
	side, err := enterDockerSide(c)
	if err != nil {
		pool.close()
		return nil, nil, nil, err
	}
	cli, err := newClient(pool)
	if err != nil {
		side.close()
		pool.close()
		return nil, nil, nil, fmt.Errorf("creating Docker client: %w", err)
	}
	return cli, side, func() { cli.Close(); pool.close(); side.close() }, nil
}

// newClient returns a Docker API client that uses only the pool's
// connections, negotiates the API version with the daemon, and ignores every
// proxy setting. Creating it opens no connection.
func newClient(p *connPool) (*client.Client, error) {
	tr := &http.Transport{
		DialContext:         p.dial,
		Proxy:               nil,
		MaxIdleConns:        connBudget,
		MaxIdleConnsPerHost: connBudget,
		DisableCompression:  true,
	}
	return client.NewClientWithOpts(
		client.WithHost("unix://"+DockerSocket),
		client.WithHTTPClient(&http.Client{Transport: tr}),
		client.WithAPIVersionNegotiation(),
	)
}
