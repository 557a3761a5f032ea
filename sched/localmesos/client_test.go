package localmesos

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// A raw HTTP/1.1 client, so that the tests see the bytes the master writes
// (as the captures' client did), and requests shaped as mesos-go sends them.

// capturedAgent is the agent of the captures: one cluster configured like
// it offers byte-identical resources.
func capturedConfig(l Launcher) Config {
	return Config{Agents: 1, CPUs: 2, Mem: 23081, Disk: 252899, Hostnames: []string{"localhost"},
		Launcher: l, HeartbeatInterval: time.Hour, AllocationInterval: 50 * time.Millisecond}
}

func start(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	if cfg.Launcher == nil {
		cfg.Launcher = newFakeLauncher()
	}
	c, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type rawConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, c *Cluster) *rawConn {
	t.Helper()
	conn, err := c.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (r *rawConn) send(req []byte) {
	r.t.Helper()
	if _, err := r.conn.Write(req); err != nil {
		r.t.Fatal(err)
	}
}

// request builds a call as mesos-go's httpcli sends it.
func request(body []byte, contentType, accept, streamID string, closeConn bool) []byte {
	var b bytes.Buffer
	b.WriteString("POST /api/v1/scheduler HTTP/1.1\r\nHost: 127.0.0.1:5050\r\nUser-Agent: Go-http-client/1.1\r\n")
	if closeConn {
		b.WriteString("Connection: close\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nAccept: %s\r\nContent-Type: %s\r\n", len(body), accept, contentType)
	if streamID != "" {
		fmt.Fprintf(&b, "Mesos-Stream-Id: %s\r\n", streamID)
	}
	b.WriteString("Accept-Encoding: gzip\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

// response is a parsed response head, and its body when it has a length.
type response struct {
	head    []byte // status line and headers, as sent
	status  string
	headers [][2]string
	body    []byte
}

func (r response) header(name string) string {
	for _, h := range r.headers {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

func (r response) names() []string {
	var out []string
	for _, h := range r.headers {
		out = append(out, h[0])
	}
	return out
}

func parseHead(head []byte) response {
	lines := strings.Split(strings.TrimSuffix(string(head), "\r\n\r\n"), "\r\n")
	r := response{head: head, status: lines[0]}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		r.headers = append(r.headers, [2]string{k, v})
	}
	return r
}

// parseResponse splits a captured response into head and body.
func parseResponse(data []byte) response {
	i := bytes.Index(data, []byte("\r\n\r\n"))
	r := parseHead(data[:i+4])
	r.body = data[i+4:]
	return r
}

func (r *rawConn) read(timeout time.Duration) response {
	r.t.Helper()
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	var head bytes.Buffer
	for {
		line, err := r.br.ReadString('\n')
		if err != nil {
			r.t.Fatalf("reading a response head: %v (got %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	resp := parseHead(head.Bytes())
	if cl := resp.header("Content-Length"); cl != "" {
		n, _ := strconv.Atoi(cl)
		resp.body = make([]byte, n)
		if _, err := io.ReadFull(r.br, resp.body); err != nil {
			r.t.Fatalf("reading a body: %v", err)
		}
	}
	return resp
}

// chunk reads one HTTP chunk of a stream: its raw bytes ("0\r\n\r\n" at the end).
func (r *rawConn) chunk(timeout time.Duration) ([]byte, error) {
	r.conn.SetReadDeadline(time.Now().Add(timeout))
	sizeLine, err := r.br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	size, err := strconv.ParseUint(strings.TrimSuffix(sizeLine, "\r\n"), 16, 32)
	if err != nil {
		return nil, fmt.Errorf("bad chunk size line %q", sizeLine)
	}
	rest := make([]byte, size+2)
	if _, err := io.ReadFull(r.br, rest); err != nil {
		return nil, err
	}
	return append([]byte(sizeLine), rest...), nil
}

// sub is a subscription: its stream connection and a keep-alive connection
// for calls.
type sub struct {
	t        *testing.T
	c        *Cluster
	stream   *rawConn
	calls    *rawConn
	head     response
	json     bool
	streamID string
	fwID     string
	// held are the offers await skipped while waiting for something else:
	// still outstanding at the master, so offerFor may use them.
	held []mesos.Offer
}

type event struct {
	chunk []byte
	rec   []byte
	scheduler.Event
}

// subscribe sends a SUBSCRIBE and reads the response head and SUBSCRIBED.
func subscribe(t *testing.T, c *Cluster, body string) *sub {
	t.Helper()
	s := &sub{t: t, c: c, stream: dial(t, c), json: true}
	s.stream.send(request([]byte(body), jsonType, jsonType, "", true))
	s.head = s.stream.read(5 * time.Second)
	if s.head.status != "HTTP/1.1 200 OK" {
		t.Fatalf("SUBSCRIBE: %s %s", s.head.status, s.head.body)
	}
	s.streamID = s.head.header("Mesos-Stream-Id")
	ev := s.next(5 * time.Second)
	if ev.Type != scheduler.Event_SUBSCRIBED {
		t.Fatalf("first event %v", ev.Type)
	}
	s.fwID = ev.Subscribed.FrameworkID.Value
	return s
}

// next reads the next event of the stream.
func (s *sub) next(timeout time.Duration) event {
	s.t.Helper()
	ev, err := s.tryNext(timeout)
	if err != nil {
		s.t.Fatalf("reading the stream: %v", err)
	}
	return ev
}

func (s *sub) tryNext(timeout time.Duration) (event, error) {
	chunk, err := s.stream.chunk(timeout)
	if err != nil {
		return event{}, err
	}
	rec, err := parseChunk(chunk)
	if err != nil {
		return event{}, err
	}
	ev := event{chunk: chunk, rec: rec}
	if s.json {
		_, err = unmarshalJSON(rec, &ev.Event)
	} else {
		err = ev.Event.Unmarshal(rec)
	}
	return ev, err
}

// await reads events until one of type typ, skipping heartbeats and
// (waiting for something else) offers; other events are errors.
func (s *sub) await(typ scheduler.Event_Type, timeout time.Duration) event {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev := s.next(time.Until(deadline))
		if ev.Type == typ {
			return ev
		}
		switch ev.Type {
		case scheduler.Event_HEARTBEAT:
		case scheduler.Event_OFFERS:
			s.held = append(s.held, ev.Offers.Offers...)
		default:
			s.t.Fatalf("waiting for %v, got %s", typ, ev.rec)
		}
	}
}

// offerFor returns an outstanding offer with at least cpus and mem: one
// that await skipped, else the next that arrives.
func (s *sub) offerFor(cpus, mem float64, timeout time.Duration) mesos.Offer {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for i, o := range s.held {
			if scalar(o.Resources, "cpus") >= cpus && scalar(o.Resources, "mem") >= mem {
				s.held = append(s.held[:i], s.held[i+1:]...)
				return o
			}
		}
		s.held = append(s.held, s.await(scheduler.Event_OFFERS, time.Until(deadline)).Offers.Offers...)
	}
}

func scalar(res []mesos.Resource, name string) float64 {
	var sum float64
	for _, r := range res {
		if r.Name == name {
			sum += r.GetScalar().GetValue()
		}
	}
	return sum
}

// call sends a JSON call on the keep-alive connection and returns the response.
func (s *sub) call(body string) response {
	s.t.Helper()
	if s.calls == nil {
		s.calls = dial(s.t, s.c)
	}
	s.calls.send(request([]byte(body), jsonType, jsonType, s.streamID, false))
	return s.calls.read(10 * time.Second)
}

// mustCall sends a call that must be accepted.
func (s *sub) mustCall(format string, args ...any) {
	s.t.Helper()
	body := fmt.Sprintf(format, args...)
	if r := s.call(body); r.status != "HTTP/1.1 202 Accepted" {
		s.t.Fatalf("%s: %s %s", body, r.status, r.body)
	}
}

func (s *sub) ack(st event) {
	s.t.Helper()
	u := st.Update.Status
	s.mustCall(`{"framework_id":{"value":%q},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":%q},"task_id":{"value":%q},"uuid":%q}}`,
		s.fwID, u.AgentID.Value, u.TaskID.Value, b64(u.UUID))
}

// normalize blanks what differs between two runs of the same scenario:
// ids, uuids, timestamps, ports, pids, the work directory.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"timestamp":[0-9.]+`), `"timestamp":T`},
	{regexp.MustCompile(`"uuid":"[^"]*"`), `"uuid":"B"`},
	{regexp.MustCompile(`"executor_pid":[0-9]+`), `"executor_pid":P`},
	{regexp.MustCompile(`"port":[0-9]+`), `"port":N`},
	{regexp.MustCompile(`"heartbeat_interval_seconds":[0-9.]+`), `"heartbeat_interval_seconds":H`},
	{regexp.MustCompile(`master@127\.0\.0\.1:[0-9]+`), `master@PID`},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), `U`},
	{regexp.MustCompile(`U-O[0-9]+`), `U-O`},
	{regexp.MustCompile(`U-S[0-9]+`), `U-S`},
	{regexp.MustCompile(`U-[0-9]{4}`), `U-F`},
	{regexp.MustCompile(`/srv/mesos-agent/agent/`), `/WORK/`},
}

func normalize(c *Cluster, b []byte) string {
	s := string(b)
	if c != nil {
		s = strings.ReplaceAll(s, c.WorkDir()+"/", "/WORK/")
	}
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
