package localmesos

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"

	"github.com/sockerhpc/socker/internal/uuid"
)

// Config describes the cluster. The zero value is a usable default: two
// agents sharing this machine, the timings of a default Mesos 1.12 master.
type Config struct {
	// Agents is the number of agents (default 2).
	Agents int
	// CPUs, Mem (MB) and Disk (MB) are each agent's resources. By default the
	// machine's CPUs and memory are divided among the agents, and Disk is the
	// work directory's file system, less what Mesos would leave free, divided
	// among the agents.
	CPUs, Mem, Disk float64
	// Ports is the port range the agents offer, divided among them so that
	// two agents on one machine never offer the same port (default
	// 31000-32000).
	Ports [2]uint64
	// Hostnames names the agents; each must resolve to a loopback address.
	// Default: this machine's hostname for the first agent if it resolves to
	// 127.x, then "localhost", then "127.0.0.<n>".
	Hostnames []string
	// WorkDir holds the sandboxes. Default: a fresh temporary directory that
	// Close removes.
	WorkDir string
	// AllowRoot lets tasks run as root (CommandInfo.user or framework user).
	AllowRoot bool
	// Shared lets every local user use the master (a local Mesos run by
	// root for several users); each framework is then its connecting
	// user's (access.go). By default only this process's uid may.
	Shared bool
	// Launcher starts task processes (default: ExecLauncher, which needs
	// root to switch users and create cgroups).
	Launcher Launcher
	// HostNamespaces is the default ExecLauncher's: tasks run in this
	// process's mount and pid namespaces (by default, run as root, each
	// task has its own, as on an agent with filesystem/linux and
	// namespaces/pid).
	HostNamespaces bool

	// HeartbeatInterval is the time between HEARTBEAT events (default 15 s).
	HeartbeatInterval time.Duration
	// AllocationInterval is the allocator's batch interval (default 1 s).
	AllocationInterval time.Duration
	// UpdateRetryInterval is when an unacknowledged status update is first
	// re-sent; the delay then doubles (default 10 s: +10, +30, +70 s, ...).
	UpdateRetryInterval time.Duration
}

const (
	defaultKillGrace  = 3 * time.Second  // the command executor's default
	maxUpdateBackoff  = 10 * time.Minute // the agent's STATUS_UPDATE_RETRY_INTERVAL_MAX
	teardownKillGrace = 3 * time.Second
	version           = "1.12.0"
)

// Cluster is a running master and its agents.
type Cluster struct {
	cfg      Config
	ln       net.Listener
	socket   string // the master's unix socket
	owner    uint32 // this process's uid
	admitted admission
	masterID string
	tmpDir   string // removed by Close when the work dir was ours
	stop     chan struct{}
	tasks    sync.WaitGroup // one per task goroutine
	conns    sync.WaitGroup // one per connection goroutine

	mu         sync.Mutex // guards everything below, and the agents' and tasks' state
	closed     bool
	open       map[net.Conn]bool
	frameworks map[string]*framework
	removed    map[string]bool // framework ids that were torn down
	agents     []*agent
	offers     map[string]*offer
	live       map[*task]bool // tasks whose process may still run
	nextFW     int
	nextOffer  int
}

type framework struct {
	id         string
	info       mesos.FrameworkInfo
	stream     *stream // nil while disconnected
	suppressed bool
	filters    []filter
	tasks      map[string]*task // until the terminal update is acknowledged
	gone       bool
	failover   *time.Timer
	uid        uint32 // the uid whose connection subscribed it (access.go)
}

func (fw *framework) hasCapability(t mesos.FrameworkInfo_Capability_Type) bool {
	for _, c := range fw.info.Capabilities {
		if c.Type == t {
			return true
		}
	}
	return false
}

func (fw *framework) role() string {
	if fw.hasCapability(mesos.FrameworkInfo_Capability_MULTI_ROLE) && len(fw.info.Roles) > 0 {
		return fw.info.Roles[0]
	}
	return fw.info.GetRole()
}

// filter is a DECLINE's (or an ACCEPT's) refusal of resources on an agent.
type filter struct {
	agent   *agent
	res     resources
	expires time.Time
}

type agent struct {
	id, hostname, ip string
	index            int
	total, used      resources
}

type offer struct {
	id    string
	fw    *framework
	agent *agent
	res   resources
}

// Start starts a master and its agents, the master listening on a unix
// socket in the work directory (access.go says who may connect).
func Start(cfg Config) (*Cluster, error) {
	if cfg.Agents <= 0 {
		cfg.Agents = 2
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 15 * time.Second
	}
	if cfg.AllocationInterval <= 0 {
		cfg.AllocationInterval = time.Second
	}
	if cfg.UpdateRetryInterval <= 0 {
		cfg.UpdateRetryInterval = 10 * time.Second
	}
	if cfg.Ports == [2]uint64{} {
		cfg.Ports = [2]uint64{31000, 32000}
	}
	if cfg.Launcher == nil {
		cfg.Launcher = &ExecLauncher{AllowRoot: cfg.AllowRoot, HostNamespaces: cfg.HostNamespaces}
	}
	c := &Cluster{cfg: cfg, owner: uint32(os.Getuid()), masterID: uuid.New(), stop: make(chan struct{}), open: map[net.Conn]bool{},
		frameworks: map[string]*framework{}, removed: map[string]bool{}, offers: map[string]*offer{},
		live: map[*task]bool{}}
	if cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "localmesos-")
		if err != nil {
			return nil, fmt.Errorf("creating the work directory: %w", err)
		}
		c.tmpDir, c.cfg.WorkDir = dir, dir
	}
	// Task users must reach their sandbox beneath the work directory.
	if err := os.MkdirAll(c.cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the work directory: %w", err)
	}
	os.Chmod(c.cfg.WorkDir, 0o755)
	if err := c.makeAgents(); err != nil {
		c.removeTmp()
		return nil, err
	}
	ln, err := listen(c.cfg.WorkDir, cfg.Shared)
	if err != nil {
		c.removeTmp()
		return nil, err
	}
	c.ln, c.socket = ln, ln.Addr().String()
	go c.serve()
	go c.allocationLoop()
	return c, nil
}

// URL is the master as mrun's --master takes it: "unix:" and the path of
// its socket. Schedulers POST to /api/v1/scheduler on a connection to it.
func (c *Cluster) URL() string { return "unix:" + c.socket }

// Socket is the path of the master's unix socket.
func (c *Cluster) Socket() string { return c.socket }

// Dial connects to the master.
func (c *Cluster) Dial() (net.Conn, error) { return net.Dial("unix", c.socket) }

// WorkDir is where the sandboxes are.
func (c *Cluster) WorkDir() string { return c.cfg.WorkDir }

// Close ends every subscription stream, kills every task (SIGKILL), waits
// for their cgroups to be removed, and removes the work directory if Start
// created it.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.stop)
	c.ln.Close() // removes the socket
	var streams []*stream
	for _, fw := range c.frameworks {
		if fw.stream != nil {
			streams = append(streams, fw.stream)
			fw.stream.end()
		}
	}
	for t := range c.live {
		if t.proc != nil { // else run() kills it once launched
			t.proc.Signal(syscall.SIGKILL)
		}
	}
	for conn := range c.open {
		conn.Close()
	}
	c.mu.Unlock()
	for _, s := range streams {
		s.wait(time.Second)
	}
	c.tasks.Wait()
	c.conns.Wait()
	os.Remove(filepath.Dir(c.socket)) // the socket went with the listener
	return c.removeTmp()
}

func (c *Cluster) removeTmp() error {
	if c.tmpDir == "" {
		return nil
	}
	return os.RemoveAll(c.tmpDir)
}

// AgentShare is the cpus and memory (MB) each agent of cfg offers.
func AgentShare(cfg Config) (cpus, mem float64) {
	n := max(cfg.Agents, 1)
	cpus, mem = cfg.CPUs, cfg.Mem
	if cpus <= 0 {
		cpus = fixed(float64(runtime.NumCPU()) / float64(n))
	}
	if mem <= 0 {
		mem = float64(int(machineMemMB() / float64(n)))
	}
	return cpus, mem
}

func (c *Cluster) makeAgents() error {
	n := c.cfg.Agents
	cpus, mem := AgentShare(c.cfg)
	disk := c.cfg.Disk
	if disk <= 0 {
		disk = float64(int(diskMB(c.cfg.WorkDir) / float64(n)))
	}
	lo, hi := c.cfg.Ports[0], c.cfg.Ports[1]
	span := (hi - lo + 1) / uint64(n)
	if span == 0 {
		return fmt.Errorf("port range %d-%d is too small for %d agents", lo, hi, n)
	}
	names, err := agentHostnames(c.cfg.Hostnames, n)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		a := &agent{id: fmt.Sprintf("%s-S%d", c.masterID, i), hostname: names[i], index: i}
		if a.ip, err = loopbackIP(a.hostname); err != nil {
			return err
		}
		begin := lo + uint64(i)*span
		end := begin + span - 1
		if i == n-1 {
			end = hi
		}
		a.total.addRanges("ports", []mesos.Value_Range{{Begin: begin, End: end}})
		a.total.addScalar("cpus", cpus)
		a.total.addScalar("mem", mem)
		a.total.addScalar("disk", disk)
		c.agents = append(c.agents, a)
	}
	return nil
}

func agentHostnames(given []string, n int) ([]string, error) {
	if len(given) > 0 {
		if len(given) != n {
			return nil, fmt.Errorf("%d hostnames for %d agents", len(given), n)
		}
		return given, nil
	}
	var names []string
	if h, err := os.Hostname(); err == nil && h != "localhost" {
		if _, err := loopbackIP(h); err == nil {
			names = append(names, h)
		}
	}
	names = append(names, "localhost")
	for i := len(names); len(names) < n; i++ {
		names = append(names, fmt.Sprintf("127.0.0.%d", i+1))
	}
	return names[:n], nil
}

// loopbackIP resolves an agent hostname, which must stay on this machine.
func loopbackIP(host string) (string, error) {
	addrs, err := net.LookupHost(host)
	if err != nil {
		return "", fmt.Errorf("resolving agent hostname %q: %w", host, err)
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil && ip.IsLoopback() {
			return ip.String(), nil
		}
	}
	return "", fmt.Errorf("agent hostname %q resolves to %v, not to a 127.x address", host, addrs)
}

func machineMemMB() float64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 1024
	}
	total := float64(si.Totalram) * float64(si.Unit) / (1 << 20)
	// As a Mesos agent: leave 1 GB to the system, or half of a small machine.
	if total >= 2048 {
		return total - 1024
	}
	return total / 2
}

func diskMB(dir string) float64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 1024
	}
	total := float64(st.Blocks) * float64(st.Bsize) / (1 << 20)
	// As a Mesos agent: leave 5 GB free, or half of a small disk.
	return total - min(5*1024, total/2)
}

func now() float64 { return float64(time.Now().UnixNano()) / 1e9 }
