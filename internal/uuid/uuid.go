// Package uuid makes random (version 4) UUIDs, the form of the ids a Mesos
// master and agent give to frameworks, streams and containers. The local
// Mesos and the tests make them; socker itself never does.
package uuid

import (
	"crypto/rand"
	"fmt"
)

// Bytes returns a random version 4 UUID as 16 bytes (a status update's uuid
// on the wire).
func Bytes() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// New returns a random version 4 UUID in its lowercase text form, as Mesos
// names containers: /mesos/<New()>.
func New() string {
	b := Bytes()
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
