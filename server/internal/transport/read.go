package transport

import (
	"bytes"
	"io"
	"sync"

	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	engineparser "github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// maxPooledScratch is the largest read scratch buffer kept for reuse; a larger message's
// buffer is left to the collector.
const maxPooledScratch = 64 << 10

// scratchBuffers are the buffers messages are read into before being copied out at their
// exact size.
var scratchBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readMessage reads the rest of a message from r into a slice of exactly its size. Reading
// straight into the library's Buffer with ReadFrom left every message in a buffer of at
// least 1.5 KiB (it grows by 512 bytes before each read, the last one included).
func readMessage(r io.Reader) ([]byte, error) {
	b, _ := scratchBuffers.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	defer func() {
		if b.Cap() <= maxPooledScratch {
			b.Reset()
			scratchBuffers.Put(b)
		}
	}()
	b.Reset()
	if _, err := b.ReadFrom(r); err != nil {
		return nil, err
	}
	return bytes.Clone(b.Bytes()), nil
}

// deliver hands a message to the engine: a text packet decoded here (see textPacket), every
// other message through the engine's parser (OnData), which also answers an unknown type
// with an error packet.
func (w *websocket) deliver(mt int, msg []byte) {
	if mt == ws.BinaryMessage {
		w.OnData(types.NewBytesBuffer(msg))
		return
	}
	if p, ok := textPacket(msg); ok {
		w.OnPacket(p)
		return
	}
	w.OnData(types.NewStringBuffer(msg))
}

// textPacket decodes a text message that is not base64 ("b…") as both Engine.IO parsers (v3
// and v4) decode it, the packet type byte then the rest as text, without the copy of the
// rest they make. ok is false for other messages.
func textPacket(msg []byte) (p *packet.Packet, ok bool) {
	if len(msg) == 0 || msg[0] == 'b' {
		return nil, false
	}
	t, ok := engineparser.PACKET_TYPES_REVERSE[msg[0]]
	if !ok {
		return nil, false
	}
	return &packet.Packet{Type: t, Data: types.NewStringBuffer(msg[1:])}, true
}
