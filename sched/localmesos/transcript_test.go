package localmesos

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// block is one "=== t=+S conn#N >>>|<<< label (B bytes)" block of a capture
// in testdata/ (copied from the mesos-wire captures of a real Mesos 1.12
// master; see testdata/README).
type block struct {
	t     float64
	conn  int
	dir   string // ">>>" client to master, "<<<" master to client
	label string
	data  []byte
}

var blockHeader = regexp.MustCompile(`^=== t=\+([0-9.]+)s conn#(\d+) (>>>|<<<) (.*) \((\d+) bytes\)$`)

func readTranscript(t testing.TB, name string) []block {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []block
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := blockHeader.FindStringSubmatch(line); m != nil {
			ts, _ := strconv.ParseFloat(m[1], 64)
			conn, _ := strconv.Atoi(m[2])
			out = append(out, block{t: ts, conn: conn, dir: m[3], label: m[4]})
			continue
		}
		if len(out) == 0 {
			continue
		}
		b := &out[len(out)-1]
		switch {
		case strings.HasPrefix(line, "| "):
			b.data = append(b.data, unescape(t, line[2:])...)
		case strings.HasPrefix(line, "|hex "):
			h, err := hex.DecodeString(line[5:])
			if err != nil {
				t.Fatal(err)
			}
			b.data = append(b.data, h...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func unescape(t testing.TB, s string) []byte {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case '\\':
			out = append(out, '\\')
		case 'x':
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, byte(n))
			i += 2
		default:
			t.Fatalf("bad escape in %q", s)
		}
	}
	return out
}

// find returns the first block whose direction is dir and label contains s.
func find(t testing.TB, blocks []block, dir, s string) block {
	t.Helper()
	for _, b := range blocks {
		if b.dir == dir && strings.Contains(b.label, s) {
			return b
		}
	}
	t.Fatalf("no %s block labelled %q", dir, s)
	return block{}
}

// records returns the RecordIO records carried by the stream chunks of a
// capture (blocks labelled "stream chunk"), checking each chunk's framing.
func records(t testing.TB, blocks []block) [][]byte {
	t.Helper()
	var out [][]byte
	for _, b := range blocks {
		if !strings.HasPrefix(b.label, "stream chunk") {
			continue
		}
		rec, err := parseChunk(b.data)
		if err != nil {
			t.Fatalf("%s: %v", b.label, err)
		}
		out = append(out, rec)
	}
	return out
}

// parseChunk checks one HTTP chunk carrying one RecordIO record and returns
// the record.
func parseChunk(chunk []byte) ([]byte, error) {
	i := bytes.Index(chunk, []byte("\r\n"))
	if i < 0 {
		return nil, fmt.Errorf("no chunk size line in %q", chunk)
	}
	size, err := strconv.ParseUint(string(chunk[:i]), 16, 32)
	if err != nil || string(chunk[:i]) != strconv.FormatUint(size, 16) {
		return nil, fmt.Errorf("bad chunk size %q", chunk[:i])
	}
	body := chunk[i+2:]
	if uint64(len(body)) != size+2 || !bytes.HasSuffix(body, []byte("\r\n")) {
		return nil, fmt.Errorf("chunk size %d does not frame %d bytes", size, len(body))
	}
	body = body[:size]
	j := bytes.IndexByte(body, '\n')
	n, err := strconv.Atoi(string(body[:max(j, 0)]))
	if j < 0 || err != nil || n != len(body)-j-1 {
		return nil, fmt.Errorf("bad RecordIO length prefix in %q", body)
	}
	return body[j+1:], nil
}
