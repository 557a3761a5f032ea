package localmesos

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// replay plays a capture's calls against a local cluster configured like
// the captured agent, with the fake launcher. Each call's response must be
// the captured one, and the updates the stream carries until the next call
// must be the captured ones (per task, in order; ids, uuids and timestamps
// aside). Captured ACKNOWLEDGEs are replaced by our own, for every update
// with a uuid.
func replay(t *testing.T, name string) {
	t.Parallel()
	cap := readTranscript(t, name)
	c := start(t, capturedConfig(newFakeLauncher()))
	// The captures' 1 and 2 s filters, shortened; they change no answer.
	rw := rewriter{`"refuse_seconds":1}`: `"refuse_seconds":0.1}`, `"refuse_seconds":2}`: `"refuse_seconds":0.2}`}
	var s *sub
	var offers []string // offers our stream sent that no call used yet
	capturedOffer := regexp.MustCompile(`c4227598-103c-44be-a7f8-2916a24c425d-O[0-9]+`)

	// ours reads our stream until n updates arrived, acknowledging them.
	ours := func(n int) []event {
		var got []event
		for len(got) < n {
			ev := s.next(10 * time.Second)
			switch ev.Type {
			case scheduler.Event_OFFERS:
				offers = append(offers[:0], ev.Offers.Offers[0].ID.Value)
			case scheduler.Event_UPDATE:
				got = append(got, ev)
				if ev.Update.Status.UUID != nil {
					s.ack(ev)
				}
			}
		}
		return got
	}

	calls, updates := 0, 0
	for i, b := range cap {
		if b.dir != ">>>" {
			continue
		}
		var resp []byte
		next := len(cap)
		for j, r := range cap[i+1:] {
			if r.conn == b.conn && r.dir == "<<<" && resp == nil {
				resp = r.data
			}
			if r.dir == ">>>" && next == len(cap) && !strings.HasPrefix(r.label, "ACKNOWLEDGE t") {
				next = i + 1 + j
			}
		}
		switch {
		case strings.HasPrefix(b.label, "ACKNOWLEDGE t"):
			continue // we acknowledge our own updates
		case strings.HasPrefix(b.label, "SUBSCRIBE"):
			s = subscribe(t, c, string(bodyOf(b.data)))
			offers = nil
			m := regexp.MustCompile(`"framework_id":\{"value":"([^"]+)"`).FindSubmatch(resp)
			hdr := parseResponse(resp)
			for _, r := range cap[i+1:] {
				if r.conn == b.conn && r.dir == "<<<" && strings.Contains(r.label, "SUBSCRIBED") {
					rec, _ := parseChunk(r.data)
					m = regexp.MustCompile(`"framework_id":\{"value":"([^"]+)"`).FindSubmatch(rec)
					break
				}
			}
			rw[string(m[1])] = s.fwID
			rw[hdr.header("Mesos-Stream-Id")] = s.streamID
			rw["b7b225b9-8a34-41b9-a7c3-b80efef4cf09-S0"] = c.agents[0].id
			continue
		}
		for _, id := range capturedOffer.FindAllString(string(b.data), -1) {
			if _, ok := rw[id]; ok {
				continue
			}
			for len(offers) == 0 {
				ours(0)
				ev := s.next(10 * time.Second)
				if ev.Type == scheduler.Event_OFFERS {
					offers = append(offers, ev.Offers.Offers[0].ID.Value)
				} else if ev.Type == scheduler.Event_UPDATE {
					t.Fatalf("%s: unexpected update while waiting for an offer: %s", b.label, ev.rec)
				}
			}
			rw[id], offers = offers[len(offers)-1], nil
		}
		if s.calls == nil {
			s.calls = dial(t, c)
		}
		s.calls.send(rw.rewrite(b.data))
		got := s.calls.read(10 * time.Second)
		want := parseResponse(rw.apply(resp))
		sameHead(t, b.label, got, want)
		if !bytes.Equal(got.body, want.body) {
			t.Errorf("%s: body %q, want %q", b.label, got.body, want.body)
		}
		calls++
		if b.label == "TEARDOWN" {
			for {
				chunk, err := s.stream.chunk(5 * time.Second)
				if err != nil || string(chunk) == "0\r\n\r\n" {
					break
				}
			}
			continue
		}

		// The captured updates until the next call, per task.
		wantByTask := map[string][]string{}
		n := 0
		for _, r := range cap[i+1 : next] {
			if r.label != "stream chunk [UPDATE]" {
				continue
			}
			rec, _ := parseChunk(r.data)
			id := regexp.MustCompile(`"task_id":\{"value":"([^"]+)"`).FindStringSubmatch(string(rec))[1]
			wantByTask[id] = append(wantByTask[id], normalize(nil, rec))
			n++
		}
		gotByTask := map[string][]string{}
		for _, ev := range ours(n) {
			id := ev.Update.Status.TaskID.Value
			gotByTask[id] = append(gotByTask[id], normalize(c, ev.rec))
		}
		for id, want := range wantByTask {
			updates += len(want)
			if strings.Join(gotByTask[id], "\n") != strings.Join(want, "\n") {
				t.Errorf("%s: updates of %s:\n got %s\nwant %s", b.label, id,
					strings.Join(gotByTask[id], "\n     "), strings.Join(want, "\n     "))
			}
		}
	}
	if calls < 2 || updates < 3 {
		t.Fatalf("only %d calls and %d updates replayed", calls, updates)
	}
	t.Logf("%s: %d calls, %d updates as captured", name, calls, updates)
}

func TestReplay_AcceptLaunch(t *testing.T)    { replay(t, "02-accept-launch.txt") }
func TestReplay_TaskFailed(t *testing.T)      { replay(t, "03-task-failed.txt") }
func TestReplay_Kill(t *testing.T)            { replay(t, "03-kill.txt") }
func TestReplay_Reconcile(t *testing.T)       { replay(t, "03-reconcile.txt") }
func TestReplay_InvalidLaunches(t *testing.T) { replay(t, "04-invalid-launch.txt") }
func TestReplay_Users(t *testing.T)           { replay(t, "04-users.txt") }
func TestReplay_MultiRole(t *testing.T)       { replay(t, "01-subscribe-multirole.txt") }
