package localmesos

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/sockerhpc/socker/internal/uuid"
)

// The master's HTTP layer is written by hand on purpose: net/http orders
// response headers its own way and adds Content-Type, Connection and
// Content-Length where libprocess does not. Requests are parsed with
// http.ReadRequest; every response is written byte for byte.

const (
	jsonType     = "application/json"
	protobufType = "application/x-protobuf"
)

// client is one admitted connection and the uid the kernel says is at its
// other end. Closing it (serveConn, or the stream it became) ends its
// admission.
type client struct {
	net.Conn
	uid     uint32
	release func()
	once    sync.Once
}

func (cl *client) Close() error {
	cl.once.Do(cl.release)
	return cl.Conn.Close()
}

func (c *Cluster) serve() {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return // Close
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.open[conn] = true
		c.conns.Add(1)
		c.mu.Unlock()
		go c.serveConn(conn)
	}
}

// serveConn admits a connection (access.go) and answers its requests
// until the client closes it, asks to close it, breaks a limit, or
// subscribes (the stream then owns it).
func (c *Cluster) serveConn(conn net.Conn) {
	defer c.conns.Done()
	forget := func() {
		c.mu.Lock()
		delete(c.open, conn)
		c.mu.Unlock()
	}
	uid, err := peerUID(conn)
	code, refusal := 403, "the connecting process's uid is unknown"
	if err == nil {
		code, refusal = c.admitted.admit(c.owner, uid, c.cfg.Shared)
	}
	if refusal != "" {
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		respond(conn, code, refusal, "Connection: close")
		lingerForResponse(conn)
		conn.Close()
		forget()
		return
	}
	cl := &client{Conn: conn, uid: uid, release: func() { c.admitted.release(uid) }}
	budget := &limitedReader{r: conn}
	br := bufio.NewReader(budget)
	for {
		req, body, code, refusal := readRequest(conn, br, budget)
		if refusal != "" {
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			respond(conn, code, refusal, "Connection: close")
			lingerForResponse(conn)
		}
		if req == nil {
			cl.Close()
			forget()
			return
		}
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if c.handle(cl, req, body) {
			forget() // the subscription stream closes it
			return
		}
		if req.Close {
			cl.Close()
			forget()
			return
		}
	}
}

// readRequest reads the next request and its body within the limits of
// access.go: the connection may idle up to idleTimeout before a request,
// which must then arrive within requestTimeout, its header within
// maxHeader bytes and its body within maxBody. It returns a nil request
// when the connection is to be closed, after the response to send first
// if refusal is set.
func readRequest(conn net.Conn, br *bufio.Reader, budget *limitedReader) (req *http.Request, body []byte, code int, refusal string) {
	conn.SetReadDeadline(time.Now().Add(idleTimeout))
	budget.n = maxHeader
	if _, err := br.Peek(1); err != nil {
		return nil, nil, 0, "" // closed, or idle too long
	}
	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	req, err := http.ReadRequest(br)
	switch {
	case budget.n <= 0:
		return nil, nil, http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("the request header is over %d bytes", maxHeader)
	case err != nil:
		return nil, nil, 0, ""
	case req.ContentLength > maxBody:
		return nil, nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBody)
	}
	if strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		conn.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")) // curl waits a second for it
	}
	budget.n += maxBody + maxHeader // the body, and a chunked body's framing
	body, err = io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	switch {
	case err != nil:
		return nil, nil, 0, "" // cut short, or too slow
	case len(body) > maxBody:
		return nil, nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", maxBody)
	}
	conn.SetReadDeadline(time.Time{})
	return req, body, 0, ""
}

// lingerForResponse lets a client that is still sending read the refusal
// before the connection closes: closing a socket with unread data resets
// it, and the client would see only the reset. What it sends meanwhile is
// read and dropped, for half a second at most.
func lingerForResponse(conn net.Conn) {
	if uc, ok := conn.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.Copy(io.Discard, conn)
}

// limitedReader reads from r until n bytes are used up, then fails: the
// bound on what one request may make the master buffer.
type limitedReader struct {
	r io.Reader
	n int64
}

var errTooLarge = errors.New("request too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func httpDate() string { return time.Now().UTC().Format(http.TimeFormat) }

// respond writes a response as libprocess does: Date first; 202 with only
// Content-Length: 0; errors as text/plain without a trailing newline.
func respond(w io.Writer, code int, body string, extra ...string) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nDate: %s\r\n", code, http.StatusText(code), httpDate())
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	w.Write(b.Bytes())
}

// handle answers one request; it returns true when the connection became a
// subscription stream. The checks come in the master's order: the route,
// the call's decoding and validation, then (but for SUBSCRIBE) the
// framework and its stream.
func (c *Cluster) handle(conn *client, req *http.Request, body []byte) bool {
	call, herr := decodeCall(req, body)
	if herr != nil {
		respond(conn, herr.code, herr.msg, herr.extra...)
		return false
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		return c.handleSubscribe(conn, req, call)
	}
	c.mu.Lock()
	fw, herr := c.caller(conn.uid, req, call)
	if herr != nil {
		c.mu.Unlock()
		respond(conn, herr.code, herr.msg)
		return false
	}
	var ending *stream
	if call.Type == scheduler.Call_TEARDOWN {
		ending = fw.stream
	}
	c.dispatch(fw, call)
	c.mu.Unlock()
	if ending != nil {
		ending.wait(5 * time.Second) // the stream's zero chunk goes out before the 202
	}
	respond(conn, http.StatusAccepted, "")
	return false
}

// httpError is a response the master gives to a request it refuses.
type httpError struct {
	code  int
	msg   string
	extra []string // header lines
}

// decodeCall checks the request's route and method, decodes its body as
// its Content-Type says, and validates the call.
func decodeCall(req *http.Request, body []byte) (*scheduler.Call, *httpError) {
	p := req.URL.Path
	if p != "/api/v1/scheduler" && !strings.HasPrefix(p, "/api/v1/scheduler/") && p != "/master/api/v1/scheduler" {
		return nil, &httpError{code: http.StatusNotFound}
	}
	if req.Method != http.MethodPost {
		return nil, &httpError{http.StatusMethodNotAllowed,
			fmt.Sprintf("405 Method Not Allowed. Expecting one of { 'POST' }, but received '%s'.", req.Method), []string{"Allow: POST"}}
	}
	var call scheduler.Call
	typeSet := false
	switch ct := req.Header.Values("Content-Type"); {
	case len(ct) == 0:
		return nil, &httpError{code: http.StatusBadRequest, msg: "Expecting 'Content-Type' to be present"}
	case ct[0] == protobufType:
		if err := call.Unmarshal(body); err != nil {
			return nil, &httpError{code: http.StatusBadRequest, msg: "Failed to parse body into Call protobuf"}
		}
		typeSet = call.Type != scheduler.Call_UNKNOWN // proto2 presence is lost by gogo
	case ct[0] == jsonType:
		present, err := unmarshalJSON(body, &call)
		if err != nil {
			return nil, &httpError{code: http.StatusBadRequest, msg: err.Error()}
		}
		typeSet = present["type"]
	default:
		return nil, &httpError{code: http.StatusUnsupportedMediaType, msg: "Expecting 'Content-Type' of application/json or application/x-protobuf"}
	}
	if msg := validate(&call, typeSet); msg != "" {
		return nil, &httpError{code: http.StatusBadRequest, msg: "Failed to validate scheduler::Call: " + msg}
	}
	return &call, nil
}

// caller finds the subscribed framework a (non-SUBSCRIBE) call comes from,
// on the stream it names. c.mu is held.
func (c *Cluster) caller(uid uint32, req *http.Request, call *scheduler.Call) (*framework, *httpError) {
	fw := c.frameworks[call.FrameworkID.Value]
	var fail string
	code := http.StatusBadRequest
	switch streamID := req.Header.Values("Mesos-Stream-Id"); {
	case fw == nil:
		fail = "Framework cannot be found"
	case fw.stream == nil:
		code, fail = http.StatusForbidden, "Framework is not subscribed"
	case uid != fw.uid:
		code, fail = http.StatusForbidden, fmt.Sprintf("Framework %s is uid %d's: uid %d may not make its calls", fw.id, fw.uid, uid)
	case len(streamID) == 0:
		fail = "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
	case streamID[0] != fw.stream.id:
		fail = fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s",
			streamID[0], fw.id)
	case call.Type == scheduler.Call_UNKNOWN:
		// The real 1.12 master aborts on this call (a CHECK failure); answer instead.
		fail = "Failed to validate scheduler::Call: Expecting 'type' to be a known call type, got UNKNOWN"
	}
	if fail != "" {
		return nil, &httpError{code: code, msg: fail}
	}
	return fw, nil
}

func (c *Cluster) handleSubscribe(conn *client, req *http.Request, call *scheduler.Call) bool {
	json := true
	switch accept := req.Header.Values("Accept"); {
	case accepts(accept, jsonType):
	case accepts(accept, protobufType):
		json = false
	default:
		respond(conn, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'")
		return false
	}
	if len(req.Header.Values("Mesos-Stream-Id")) > 0 {
		respond(conn, http.StatusBadRequest, "Subscribe calls should not include the 'Mesos-Stream-Id' header")
		return false
	}
	s := newStream(uuid.New(), conn, json, c.streamBroken)
	ct := jsonType
	if !json {
		ct = protobufType
	}
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nDate: %s\r\nTransfer-Encoding: chunked\r\nMesos-Stream-Id: %s\r\nContent-Type: %s\r\n\r\n",
		httpDate(), s.id, ct)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return true
	}
	conn.Write([]byte(head))
	go s.run(c.cfg.HeartbeatInterval)
	c.subscribe(conn.uid, *call.Subscribe.FrameworkInfo, s)
	return true
}

// accepts reports whether an Accept header allows mediaType (no header
// allows everything; q=0 refuses).
func accepts(values []string, mediaType string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, entry := range strings.Split(v, ",") {
			parts := strings.Split(entry, ";")
			mt := strings.ToLower(strings.TrimSpace(parts[0]))
			q := 1.0
			for _, p := range parts[1:] {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
					q, _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
				}
			}
			if q > 0 && (mt == "*/*" || mt == mediaType || mt == strings.SplitN(mediaType, "/", 2)[0]+"/*") {
				return true
			}
		}
	}
	return false
}

// validate is the master's validation::scheduler::call::validate.
func validate(call *scheduler.Call, typeSet bool) string {
	if !typeSet {
		return "Expecting 'type' to be present"
	}
	if call.Type == scheduler.Call_SUBSCRIBE {
		if call.Subscribe == nil || call.Subscribe.FrameworkInfo == nil {
			return "Expecting 'subscribe' to be present"
		}
		a, b := call.FrameworkID, call.Subscribe.FrameworkInfo.ID
		if (a == nil) != (b == nil) || a != nil && a.Value != b.Value {
			return "'framework_id' differs from 'subscribe.framework_info.id'"
		}
		return ""
	}
	if call.FrameworkID == nil {
		return "Expecting 'framework_id' to be present"
	}
	if slices.Contains(needsMessage, call.Type) && !messagePresent(call, strings.ToLower(call.Type.String())) {
		return "Expecting '" + strings.ToLower(call.Type.String()) + "' to be present"
	}
	if call.Type == scheduler.Call_ACKNOWLEDGE {
		if u := call.Acknowledge.UUID; len(u) != 16 || bytes.Equal(u, make([]byte, 16)) {
			return "Not a valid UUID"
		}
	}
	return ""
}

// needsMessage are the call types whose message must be present: the field
// named as the type in lower case (ACCEPT: accept). REVIVE's and SUPPRESS'
// are optional; TEARDOWN has none.
var needsMessage = []scheduler.Call_Type{
	scheduler.Call_ACCEPT, scheduler.Call_DECLINE, scheduler.Call_ACCEPT_INVERSE_OFFERS, scheduler.Call_DECLINE_INVERSE_OFFERS,
	scheduler.Call_KILL, scheduler.Call_SHUTDOWN, scheduler.Call_ACKNOWLEDGE, scheduler.Call_ACKNOWLEDGE_OPERATION_STATUS,
	scheduler.Call_RECONCILE, scheduler.Call_RECONCILE_OPERATIONS, scheduler.Call_MESSAGE, scheduler.Call_REQUEST,
	scheduler.Call_UPDATE_FRAMEWORK,
}

// messagePresent reports whether the field of call whose JSON name is name
// is set.
func messagePresent(call *scheduler.Call, name string) bool {
	v := reflect.ValueOf(call).Elem()
	for i := range v.NumField() {
		if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); tag == name {
			return !v.Field(i).IsNil()
		}
	}
	return false
}
