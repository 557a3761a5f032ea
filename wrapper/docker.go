package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/docker/docker/client"
)

// DockerSocket is the only Docker endpoint socker talks to. It is fixed:
// DOCKER_HOST and friends are never read (no client.FromEnv).
const DockerSocket = "/var/run/docker.sock"

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

// newClient returns a Docker API client that uses only the pool's
// connections, negotiates the API version with the daemon, and ignores every
// proxy setting.
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
