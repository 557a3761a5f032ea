package localmesos

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// stream is the body of one SUBSCRIBE response: every event is one HTTP
// chunk holding one RecordIO record ("<hex size>\r\n<len>\n<record>\r\n").
// The master queues events without blocking; a goroutine per stream writes
// them, adds a HEARTBEAT every interval, and after end() writes the
// terminating chunk and closes the connection.
type stream struct {
	id     string // Mesos-Stream-Id
	conn   net.Conn
	json   bool
	broken func(*stream) // called once if a write fails (the client went away)

	mu     sync.Mutex
	queue  [][]byte
	ending bool
	wake   chan struct{}
	done   chan struct{}
}

func newStream(id string, conn net.Conn, json bool, broken func(*stream)) *stream {
	return &stream{id: id, conn: conn, json: json, broken: broken,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// writeTimeout bounds how long a client that stopped reading can stall its
// stream before the master treats it as gone.
const writeTimeout = 10 * time.Second

// send queues ev; events sent after end are dropped.
func (s *stream) send(ev *scheduler.Event) {
	var rec []byte
	if s.json {
		rec = marshalJSON(ev)
	} else {
		rec, _ = ev.Marshal() // generated code: cannot fail for a valid message
	}
	prefix := fmt.Sprintf("%d\n", len(rec))
	chunk := fmt.Sprintf("%x\r\n%s%s\r\n", len(prefix)+len(rec), prefix, rec)
	s.mu.Lock()
	if !s.ending {
		s.queue = append(s.queue, []byte(chunk))
	}
	s.mu.Unlock()
	s.poke()
}

// end flushes what is queued, writes the zero chunk and closes the connection.
func (s *stream) end() {
	s.mu.Lock()
	s.ending = true
	s.mu.Unlock()
	s.poke()
}

// wait blocks until the stream is closed or d passes.
func (s *stream) wait(d time.Duration) {
	select {
	case <-s.done:
	case <-time.After(d):
	}
}

func (s *stream) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *stream) run(heartbeat time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-s.wake:
		case <-tick.C:
			s.send(&scheduler.Event{Type: scheduler.Event_HEARTBEAT})
		}
		s.mu.Lock()
		queue, ending := s.queue, s.ending
		s.queue = nil
		s.mu.Unlock()
		for _, chunk := range queue {
			s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := s.conn.Write(chunk); err != nil {
				s.conn.Close()
				s.broken(s)
				return
			}
		}
		if ending {
			s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			s.conn.Write([]byte("0\r\n\r\n"))
			s.conn.Close()
			return
		}
	}
}
