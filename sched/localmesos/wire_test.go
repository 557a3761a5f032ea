package localmesos

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// These tests replay the requests of the captures (testdata/) against the
// local master and compare what it answers with what the real master
// answered: status lines, header names and order, bodies, chunk framing and
// events (ids, dates, uuids and timestamps blanked by normalize).

// rewriter maps the captures' ids (framework, offer, agent, stream) to ours.
type rewriter map[string]string

func (rw rewriter) apply(b []byte) []byte {
	olds := make([]string, 0, len(rw))
	for o := range rw {
		olds = append(olds, o)
	}
	sort.Slice(olds, func(i, j int) bool { return len(olds[i]) > len(olds[j]) })
	var pairs []string
	for _, o := range olds {
		pairs = append(pairs, o, rw[o])
	}
	return []byte(strings.NewReplacer(pairs...).Replace(string(b)))
}

var contentLength = regexp.MustCompile(`(?m)^Content-Length: [0-9]+\r$`)

// rewrite applies rw to a captured request and fixes its Content-Length.
func (rw rewriter) rewrite(req []byte) []byte {
	req = rw.apply(req)
	i := bytes.Index(req, []byte("\r\n\r\n"))
	return contentLength.ReplaceAll(req, []byte(fmt.Sprintf("Content-Length: %d\r", len(req)-i-4)))
}

// sameHead compares a response head with a captured one, Date and stream
// id values aside.
func sameHead(t *testing.T, what string, got, want response) {
	t.Helper()
	if got.status != want.status || strings.Join(got.names(), ",") != strings.Join(want.names(), ",") {
		t.Errorf("%s: got %q %v, want %q %v", what, got.status, got.names(), want.status, want.names())
	}
	for _, h := range want.headers {
		if h[0] != "Date" && h[0] != "Mesos-Stream-Id" && got.header(h[0]) != h[1] {
			t.Errorf("%s: %s is %q, want %q", what, h[0], got.header(h[0]), h[1])
		}
	}
	if _, err := time.Parse("Mon, 02 Jan 2006 15:04:05 GMT", got.header("Date")); err != nil {
		t.Errorf("%s: Date %q: %v", what, got.header("Date"), err)
	}
}

func TestWire_SubscribeJSON_HeadersChunksHeartbeatsTeardown(t *testing.T) {
	t.Parallel()
	cap := readTranscript(t, "01-subscribe-json.txt")
	cfg := capturedConfig(nil)
	cfg.HeartbeatInterval = 300 * time.Millisecond
	c := start(t, cfg)
	s := &sub{t: t, c: c, stream: dial(t, c), json: true}
	s.stream.send(find(t, cap, ">>>", "SUBSCRIBE").data)
	s.head = s.stream.read(5 * time.Second)
	sameHead(t, "SUBSCRIBE", s.head, parseResponse(find(t, cap, "<<<", "SUBSCRIBE response head").data))
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(s.head.header("Mesos-Stream-Id")) {
		t.Errorf("Mesos-Stream-Id %q is not a uuid4", s.head.header("Mesos-Stream-Id"))
	}
	s.streamID = s.head.header("Mesos-Stream-Id")

	// SUBSCRIBED, HEARTBEAT, OFFERS: the captured records, ids aside.
	want := records(t, cap)
	for i := 0; i < 3; i++ {
		ev := s.next(2 * time.Second)
		if got, want := normalize(c, ev.rec), normalize(nil, want[i]); got != want {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
		if i == 0 {
			s.fwID = ev.Subscribed.FrameworkID.Value
			if !strings.HasPrefix(s.fwID, c.masterID+"-") || len(s.fwID) != len(c.masterID)+5 {
				t.Errorf("framework id %q is not <masterid>-NNNN", s.fwID)
			}
		}
		if i == 2 && !strings.HasPrefix(ev.Offers.Offers[0].ID.Value, c.masterID+"-O") {
			t.Errorf("offer id %q is not <masterid>-O<n>", ev.Offers.Offers[0].ID.Value)
		}
	}
	// Heartbeats every HeartbeatInterval; the unanswered offer is neither
	// rescinded nor re-sent.
	last := time.Now()
	for i := 0; i < 3; i++ {
		ev := s.next(2 * time.Second)
		gap := time.Since(last)
		last = time.Now()
		if ev.Type != scheduler.Event_HEARTBEAT || string(ev.chunk) != "17\r\n20\n{\"type\":\"HEARTBEAT\"}\r\n" {
			t.Fatalf("got %q, want a HEARTBEAT chunk", ev.chunk)
		}
		if i > 0 && (gap < 200*time.Millisecond || gap > 450*time.Millisecond) {
			t.Errorf("heartbeat gap %v, want ~300ms", gap)
		}
	}

	// TEARDOWN: the stream ends (zero chunk, then EOF) before the 202.
	rw := rewriter{"c4227598-103c-44be-a7f8-2916a24c425d-0031": s.fwID, "eff2e43f-8999-4fd7-8f1c-01adcda96bc1": s.streamID}
	calls := dial(t, c)
	calls.send(rw.rewrite(find(t, cap, ">>>", "TEARDOWN").data))
	resp := calls.read(5 * time.Second)
	wantResp := parseResponse(find(t, cap, "<<<", "response to TEARDOWN").data)
	sameHead(t, "TEARDOWN", resp, wantResp)
	if len(resp.body) != 0 {
		t.Errorf("TEARDOWN body %q", resp.body)
	}
	for {
		chunk, err := s.stream.chunk(50 * time.Millisecond) // already received, or it came after the 202
		if err != nil {
			t.Fatalf("stream did not end before the 202: %v", err)
		}
		if string(chunk) == "0\r\n\r\n" {
			break
		}
		if !bytes.Contains(chunk, []byte("HEARTBEAT")) {
			t.Fatalf("unexpected chunk %q", chunk)
		}
	}
	if _, err := s.stream.br.ReadByte(); err != io.EOF {
		t.Errorf("after the zero chunk: %v, want EOF", err)
	}
	// The framework is gone.
	calls.send(rw.rewrite(find(t, cap, ">>>", "TEARDOWN").data))
	if r := calls.read(5 * time.Second); r.status != "HTTP/1.1 400 Bad Request" || string(r.body) != "Framework cannot be found" {
		t.Errorf("call after TEARDOWN: %s %q", r.status, r.body)
	}
}

func TestWire_SubscribeProtobuf_StreamDeclineTeardown(t *testing.T) {
	t.Parallel()
	cap := readTranscript(t, "01-subscribe-protobuf.txt")
	c := start(t, capturedConfig(nil))
	s := &sub{t: t, c: c, stream: dial(t, c), json: false}
	s.stream.send(append(find(t, cap, ">>>", "SUBSCRIBE head").data, find(t, cap, ">>>", "SUBSCRIBE body").data...))
	s.head = s.stream.read(5 * time.Second)
	sameHead(t, "SUBSCRIBE", s.head, parseResponse(find(t, cap, "<<<", "SUBSCRIBE response head").data))
	s.streamID = s.head.header("Mesos-Stream-Id")
	want := records(t, cap)
	var offerID string
	for i := 0; i < 3; i++ {
		ev := s.next(2 * time.Second)
		var wantEv scheduler.Event
		if err := wantEv.Unmarshal(want[i]); err != nil {
			t.Fatal(err)
		}
		// Same messages (compared through the master's JSON), ids aside.
		if got, want := normalize(c, marshalJSON(&ev.Event)), normalize(nil, marshalJSON(&wantEv)); got != want {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
		switch ev.Type {
		case scheduler.Event_SUBSCRIBED:
			s.fwID = ev.Subscribed.FrameworkID.Value
		case scheduler.Event_OFFERS:
			offerID = ev.Offers.Offers[0].ID.Value
		}
	}
	// DECLINE and TEARDOWN in protobuf, rebuilt from the captured bodies.
	calls := dial(t, c)
	for _, label := range []string{"DECLINE", "TEARDOWN"} {
		head := find(t, cap, ">>>", label+" (protobuf) head").data
		body := find(t, cap, ">>>", label+" (protobuf) body").data
		var call scheduler.Call
		if err := call.Unmarshal(body); err != nil {
			t.Fatal(err)
		}
		if again, _ := call.Marshal(); !bytes.Equal(again, body) {
			t.Fatalf("%s: gogo does not re-encode the captured body", label)
		}
		call.FrameworkID.Value = s.fwID
		if call.Decline != nil {
			call.Decline.OfferIDs[0].Value = offerID
		}
		body, _ = call.Marshal()
		rw := rewriter{"8bc0b192-5180-4c17-9154-70487c773ea1": s.streamID}
		calls.send(rw.rewrite(append(head, body...)))
		resp := calls.read(5 * time.Second)
		sameHead(t, label, resp, parseResponse(find(t, cap, "<<<", "response to "+label).data))
	}
	if chunk, err := s.stream.chunk(time.Second); err != nil || string(chunk) != "0\r\n\r\n" {
		t.Errorf("stream end: %q %v", chunk, err)
	}
}

// replayAlone sends request b on a connection of its own, which it
// returns, and checks the response's head against the one captured on b's
// connection.
func replayAlone(t *testing.T, c *Cluster, cap []block, b block) (conn *rawConn, got, want response) {
	t.Helper()
	for _, r := range cap {
		if r.conn == b.conn && r.dir == "<<<" {
			want = parseResponse(r.data)
			break
		}
	}
	conn = dial(t, c)
	conn.send(b.data)
	got = conn.read(5 * time.Second)
	sameHead(t, b.label, got, want)
	return conn, got, want
}

func TestWire_AcceptNegotiation(t *testing.T) {
	t.Parallel()
	cap := readTranscript(t, "01-subscribe-accept-variants.txt")
	c := start(t, capturedConfig(nil))
	for _, b := range cap {
		if b.dir != ">>>" || !strings.HasPrefix(b.label, "SUBSCRIBE [") {
			continue
		}
		conn, got, want := replayAlone(t, c, cap, b)
		if want.status != "HTTP/1.1 200 OK" {
			if !bytes.Equal(got.body, want.body) {
				t.Errorf("%s: body %q, want %q", b.label, got.body, want.body)
			}
			continue
		}
		s := &sub{t: t, c: c, stream: conn, json: got.header("Content-Type") == jsonType, streamID: got.header("Mesos-Stream-Id")}
		ev := s.next(2 * time.Second)
		if ev.Type != scheduler.Event_SUBSCRIBED {
			t.Fatalf("%s: first event %v", b.label, ev.Type)
		}
		s.fwID = ev.Subscribed.FrameworkID.Value
		s.mustCall(`{"framework_id":{"value":%q},"type":"TEARDOWN"}`, s.fwID)
	}
}

// The 25 HTTP error cases of 04-errors.txt, in order, on one keep-alive
// connection, then the SUBSCRIBE validation cases.
func TestWire_ErrorCases(t *testing.T) {
	t.Parallel()
	cap := readTranscript(t, "04-errors.txt")
	c := start(t, capturedConfig(nil))
	s := subscribe(t, c, string(bodyOf(find(t, cap, ">>>", "SUBSCRIBE").data)))
	s.await(scheduler.Event_HEARTBEAT, time.Second)
	offer := s.await(scheduler.Event_OFFERS, time.Second)
	rw := rewriter{
		"c4227598-103c-44be-a7f8-2916a24c425d-0058": s.fwID,
		"17588d44-7984-43d1-bb07-33e3020cbb94":      s.streamID,
		"c4227598-103c-44be-a7f8-2916a24c425d-O129": offer.Offers.Offers[0].ID.Value,
		"b7b225b9-8a34-41b9-a7c3-b80efef4cf09-S0":   offer.Offers.Offers[0].AgentID.Value,
	}
	calls := dial(t, c)
	n := 0
	for i, b := range cap {
		if b.conn != 2 || b.dir != ">>>" {
			continue
		}
		if strings.Contains(b.label, "/api/v1/schedulerx") || b.label == "TEARDOWN" {
			continue // the real master's operator API answers there; not reproduced (404)
		}
		calls.send(rw.rewrite(b.data))
		got := calls.read(5 * time.Second)
		var want response
		for _, r := range cap[i+1:] {
			if r.conn == b.conn && r.dir == "<<<" {
				want = parseResponse(rw.apply(r.data))
				break
			}
		}
		sameHead(t, b.label, got, want)
		if !bytes.Equal(got.body, want.body) {
			t.Errorf("%s: body %q, want %q", b.label, got.body, want.body)
		}
		n++
	}
	if n != 24 {
		t.Errorf("%d cases replayed, want 24", n)
	}
	// Meanwhile the stream got the KILL's reconciliation and, after the
	// trailing-slash DECLINE and the REVIVE, a new offer.
	var types []string
	for _, want := range []scheduler.Event_Type{scheduler.Event_UPDATE, scheduler.Event_OFFERS} {
		ev := s.await(want, 2*time.Second)
		types = append(types, ev.Type.String())
		if ev.Type == scheduler.Event_UPDATE {
			if got, want := normalize(c, ev.rec), normalize(nil, records(t, cap)[3]); got != want {
				t.Errorf("KILL of an unknown task:\n got %s\nwant %s", got, want)
			}
		}
	}

	// SUBSCRIBE validation, each on its own connection.
	for _, b := range cap {
		if b.dir != ">>>" || !strings.HasPrefix(b.label, "SUBSCRIBE ") || b.conn < 3 {
			continue
		}
		conn, got, want := replayAlone(t, c, cap, b)
		if !bytes.Equal(got.body, want.body) {
			t.Errorf("%s: body %q, want %q", b.label, got.body, want.body)
		}
		if want.status == "HTTP/1.1 200 OK" { // an id this master never saw is taken
			ns := &sub{t: t, c: c, stream: conn, json: true, streamID: got.header("Mesos-Stream-Id")}
			if ev := ns.next(time.Second); ev.Type != scheduler.Event_SUBSCRIBED || ev.Subscribed.FrameworkID.Value != "never-seen-aad4e735" {
				t.Errorf("%s: %s", b.label, ev.rec)
			}
		}
	}
}

func bodyOf(req []byte) []byte { return req[bytes.Index(req, []byte("\r\n\r\n"))+4:] }

// "type":"UNKNOWN" aborts the real 1.12 master (04-unknown-call-crash.txt);
// here it is a 400 and the connection and master live on.
func TestWire_UnknownCallTypeIsRefused(t *testing.T) {
	t.Parallel()
	c := start(t, capturedConfig(nil))
	s := subscribe(t, c, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"nobody","name":"t"}}}`)
	r := s.call(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"UNKNOWN"}`, s.fwID))
	if r.status != "HTTP/1.1 400 Bad Request" || !strings.Contains(string(r.body), "UNKNOWN") {
		t.Errorf("UNKNOWN: %s %q", r.status, r.body)
	}
	s.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID)
}
