package localmesos

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

var timestamp = regexp.MustCompile(`"timestamp":[0-9.]+`)

var allCaptures = []string{
	"01-subscribe-json.txt", "01-subscribe-protobuf.txt", "01-subscribe-accept-variants.txt",
	"01-subscribe-multirole.txt", "02-accept-launch.txt", "03-decline.txt", "03-kill.txt",
	"03-reconcile.txt", "03-task-failed.txt", "04-errors.txt", "04-invalid-launch.txt",
	"04-users.txt", "05-teardown.txt", "05-no-ack.txt",
}

// Every event the real master sent, read with unmarshalJSON (or gogo for
// protobuf) and written back, gives the master's exact bytes: field order,
// presence, enum names, base64 uuids, "15.0" doubles and float timestamps.
func TestCodec_EventsRoundTripByteForByte(t *testing.T) {
	n := 0
	for _, name := range allCaptures {
		for i, rec := range records(t, readTranscript(t, name)) {
			var ev scheduler.Event
			if rec[0] == '{' {
				if _, err := unmarshalJSON(rec, &ev); err != nil {
					t.Fatalf("%s record %d: %v", name, i, err)
				}
				// Timestamps: same double, maybe not the same last digit (see formatDouble).
				want := timestamp.ReplaceAllFunc(rec, func(m []byte) []byte {
					f, _ := strconv.ParseFloat(string(m[len(`"timestamp":`):]), 64)
					return []byte(`"timestamp":` + formatDouble(f))
				})
				if got := marshalJSON(&ev); !bytes.Equal(got, want) {
					t.Errorf("%s record %d:\n got %s\nwant %s", name, i, got, want)
				}
			} else {
				if err := ev.Unmarshal(rec); err != nil {
					t.Fatalf("%s record %d: %v", name, i, err)
				}
				if got, _ := ev.Marshal(); !bytes.Equal(got, rec) {
					t.Errorf("%s record %d: protobuf\n got %x\nwant %x", name, i, got, rec)
				}
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d records checked", n)
	}
}

// Every JSON call a client sent also survives the round trip (modulo the
// key order the client chose).
func TestCodec_CallsParse(t *testing.T) {
	for _, name := range allCaptures {
		for _, b := range readTranscript(t, name) {
			i := bytes.Index(b.data, []byte("\r\n\r\n"))
			if b.dir != ">>>" || i < 0 || !bytes.HasPrefix(b.data[i+4:], []byte("{")) || strings.Contains(b.label, "malformed") {
				continue
			}
			var c scheduler.Call
			_, err := unmarshalJSON(b.data[i+4:], &c)
			if err != nil && !strings.Contains(b.label, "SUBSCRIBE without") && !strings.Contains(b.label, "wrong JSON type") && !strings.Contains(b.label, "not base64") {
				t.Errorf("%s %s: %v", name, b.label, err)
			}
		}
	}
}

func TestCodec_ParseErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"framework_id":{"value":"x"},"type":"DECLINE"`, "Failed to parse body into JSON: syntax error at line 1 near: "},
		{`{"framework_id":"abc","type":"REVIVE"}`, "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field 'framework_id'"},
		{`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"wire-capture"}}}`, "Failed to convert JSON into Call protobuf: Missing required fields: subscribe.framework_info.user"},
		{`{"type":"SUBSCRIBE","subscribe":{"framework_info":{}}}`, "Failed to convert JSON into Call protobuf: Missing required fields: subscribe.framework_info.user, subscribe.framework_info.name"},
		{`{"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":"a"},"task_id":{"value":"x"},"uuid":"!!notbase64!!"}}`, "Failed to convert JSON into Call protobuf: Failed to base64 decode bytes field 'uuid': Invalid character '!'"},
		{`{"type":"ACCEPT","accept":{"offer_ids":[{"value":"o"}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"n","task_id":{"value":"t"}}]}}]}}`, "Failed to convert JSON into Call protobuf: Missing required fields: accept.operations[0].launch.task_infos[0].agent_id"},
	} {
		var c scheduler.Call
		_, err := unmarshalJSON([]byte(tc.body), &c)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.body, err, tc.want)
		}
	}
}

func TestCodec_UnknownEnumDropped(t *testing.T) {
	var c scheduler.Call
	present, err := unmarshalJSON([]byte(`{"framework_id":{"value":"f"},"type":"NOPE","bogus":1}`), &c)
	if err != nil || present["type"] || !present["framework_id"] {
		t.Fatalf("present=%v err=%v", present, err)
	}
}

// mesos-go's JSON encoder writes empty fields as null; the master takes
// null as "not set".
func TestCodec_NullIsUnset(t *testing.T) {
	var c scheduler.Call
	body := `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","capabilities":null,"offer_filters":null,"id":null}}}`
	if _, err := unmarshalJSON([]byte(body), &c); err != nil || c.Subscribe.FrameworkInfo.ID != nil || c.Subscribe.FrameworkInfo.User != "u" {
		t.Fatalf("%v %+v", err, c.Subscribe)
	}
	_, err := unmarshalJSON([]byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":null,"name":"n"}}}`), &c)
	if err == nil || !strings.HasSuffix(err.Error(), "Missing required fields: subscribe.framework_info.user") {
		t.Fatalf("required null: %v", err)
	}
}
