package localmesos

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// mesos-go v0.0.11's own HTTP scheduler client (what mrun is built on)
// subscribes, launches, acknowledges and tears down.
//
// Only with the protobuf codec: SUBSCRIBED from a Mesos 1.12 master names
// the master capability QUOTA_V2, which mesos-go v0.0.11 predates, and its
// JSON decoder (ffjson) rejects the event ("unrecognized enum"). The real
// master does the same (01-subscribe-json.txt), so this master does too:
// schedulers built on mesos-go v0.0.11 must use protobuf.
func TestMesosGoClient(t *testing.T) {
	t.Run("json-subscribed-rejected", func(t *testing.T) {
		t.Parallel()
		c := start(t, capturedConfig(nil))
		cli := httpcli.New(httpcli.Endpoint("http://localmesos:80/api/v1/scheduler"), httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeJSON]), viaSocket(c))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := httpsched.NewCaller(cli).Call(ctx, calls.Subscribe(&mesos.FrameworkInfo{User: "barsuser", Name: "compat"}))
		if err != nil {
			t.Fatal(err) // the request itself (with mesos-go's "capabilities":null) is fine
		}
		defer resp.Close()
		var ev scheduler.Event
		if err := resp.Decode(&ev); err == nil || !strings.Contains(err.Error(), "QUOTA_V2") {
			t.Fatalf("mesos-go decoded SUBSCRIBED (%v): has it learnt QUOTA_V2? Then test its JSON codec too", err)
		}
	})
	for _, mt := range []encoding.MediaType{codecs.MediaTypeProtobuf} {
		t.Run(mt.ContentType(), func(t *testing.T) {
			t.Parallel()
			c := start(t, capturedConfig(nil))
			cli := httpcli.New(httpcli.Endpoint("http://localmesos:80/api/v1/scheduler"), httpcli.Codec(codecs.ByMediaType[mt]), viaSocket(c))
			caller := httpsched.NewCaller(cli)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := caller.Call(ctx, calls.Subscribe(&mesos.FrameworkInfo{User: "barsuser", Name: "compat"}))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Close()
			next := func() *scheduler.Event {
				for {
					var ev scheduler.Event
					if err := resp.Decode(&ev); err != nil {
						t.Fatalf("decoding an event: %v", err)
					}
					if ev.Type != scheduler.Event_HEARTBEAT {
						return &ev
					}
				}
			}
			ev := next()
			if ev.Type != scheduler.Event_SUBSCRIBED || ev.Subscribed.GetHeartbeatIntervalSeconds() != 3600 {
				t.Fatalf("got %v", ev)
			}
			fwID := ev.Subscribed.FrameworkID.Value
			do := func(call *scheduler.Call) {
				t.Helper()
				resp, err := caller.Call(ctx, call.With(calls.Framework(fwID)))
				if err != nil {
					t.Fatalf("%v: %v", call.Type, err)
				}
				if resp != nil {
					resp.Close()
				}
			}
			ev = next()
			if ev.Type != scheduler.Event_OFFERS {
				t.Fatalf("got %v", ev.Type)
			}
			o := ev.Offers.Offers[0]
			if got := fromProto(o.Resources).String("*"); got != "ports(allocated: *):[31000-32000]; cpus(allocated: *):2; mem(allocated: *):23081; disk(allocated: *):252899" {
				t.Errorf("offer %s", got)
			}
			task := mesos.TaskInfo{Name: "t", TaskID: mesos.TaskID{Value: "t"}, AgentID: o.AgentID,
				Resources: []mesos.Resource{{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: 0.5}}},
				Command:   &mesos.CommandInfo{Value: strptr("true")}}
			do(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(o.ID)))
			for _, want := range []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
				ev = next()
				for ev.Type == scheduler.Event_OFFERS {
					ev = next()
				}
				st := ev.Update.Status
				if st.GetState() != want {
					t.Fatalf("got %v, want %v", st.GetState(), want)
				}
				do(calls.Acknowledge(st.AgentID.Value, st.TaskID.Value, st.UUID))
			}
			do(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
		})
	}
}

// viaSocket makes a mesos-go client connect to c's unix socket.
func viaSocket(c *Cluster) httpcli.Opt {
	return httpcli.Do(httpcli.With(httpcli.Transport(func(t *http.Transport) {
		t.Proxy, t.Dial = nil, nil
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", c.Socket())
		}
	})))
}
