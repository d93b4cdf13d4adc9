package transport

import (
	"io"
	"sync"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// maxPooledScratch bounds the scratch buffers kept for reuse: a rare large message's
// buffer goes to the garbage collector.
const maxPooledScratch = 64 << 10

// scratchBuffers holds the buffers messages are read into before their exact-size copy.
var scratchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// readMessage returns the rest of a message read from r, in a slice of its exact length.
// The library's buffer grew by at least 512 free bytes per read and so allocated 512 bytes,
// then 1 KiB or more with a copy, for a message of a few hundred bytes.
func readMessage(r io.Reader) ([]byte, error) {
	sp := scratchBuffers.Get().(*[]byte)
	buf := (*sp)[:0]
	var err error
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		var n int
		n, err = r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	var msg []byte
	if err == io.EOF {
		err = nil
		msg = make([]byte, len(buf))
		copy(msg, buf)
	}
	if cap(buf) <= maxPooledScratch {
		*sp = buf[:0]
		scratchBuffers.Put(sp)
	}
	return msg, err
}

// decodeText decodes an Engine.IO 4 text message as the library's parser does, but with
// the packet's data sharing msg instead of a copy of it (the parser copied it into a
// buffer that grew as above). It reports false for what it leaves to the parser: an empty
// message, an unknown type, base64 binary ("b…").
func decodeText(msg []byte) (*packet.Packet, bool) {
	if len(msg) == 0 {
		return nil, false
	}
	typ, ok := parser.PACKET_TYPES_REVERSE[msg[0]]
	if !ok {
		return nil, false
	}
	return &packet.Packet{Type: typ, Data: types.NewStringBuffer(msg[1:])}, true
}
