package transport

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// WebSocket opcodes (RFC 6455 §5.2) of the frames this package writes.
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPong   = 0xA
)

// finBit marks the final (here: only) frame of a message.
const finBit = 0x80

// appendFrame appends one unmasked, unfragmented server frame carrying payload to dst.
func appendFrame(dst []byte, opcode byte, payload []byte) []byte {
	return append(appendHeader(dst, opcode, len(payload)), payload...)
}

// appendHeader appends the header of a frame whose payload is n bytes long to dst.
func appendHeader(dst []byte, opcode byte, n int) []byte {
	switch {
	case n < 126:
		dst = append(dst, finBit|opcode, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, finBit|opcode, 126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, finBit|opcode, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return dst
}

// newFrame returns, in one allocation, a frame whose payload is parts one after another.
func newFrame(opcode byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	f := appendHeader(make([]byte, 0, maxHeaderLen+n), opcode, n)
	for _, p := range parts {
		f = append(f, p...)
	}
	return f
}

// message is a packet encoded for the wire: its frame (an Engine.IO message carrying the
// packet's text) and its encoded buffers for the engine, made from the text when first
// needed. A packet with binary attachments has no frame, only its buffers.
type message struct {
	frame   []byte
	text    []byte // the packet's text, the end of frame
	encoded []types.BufferInterface
}

// buffers are the packet's encoded buffers, for the library's write path.
func (m *message) buffers() []types.BufferInterface {
	if m.encoded == nil {
		m.encoded = []types.BufferInterface{types.NewStringBuffer(m.text)}
	}
	return m.encoded
}

// textAppender is an encoder that appends a packet's text encoding to a buffer, and
// reports false for a packet it does not encode as one text buffer (iohub's sioparser).
type textAppender interface {
	AppendText(dst []byte, p *parser.Packet) ([]byte, bool)
}

// maxHeaderLen is the length of the longest frame header.
const maxHeaderLen = 10

// frameSizeHint is the capacity a frame encoded in place starts with: a chat message's
// broadcast or reply fits.
const frameSizeHint = 512

// encodeMessage encodes p with enc. ok is false when p has binary attachments (m then
// holds only its buffers). An encoder that can append p's text writes it straight into
// the frame, in one allocation: the header goes in front once the payload's length is
// known. Any other encodes p, and the frame is built from its text.
func encodeMessage(enc parser.Encoder, p *parser.Packet) (m message, ok bool) {
	if a, can := enc.(textAppender); can {
		buf := append(make([]byte, maxHeaderLen, frameSizeHint), engineMessage...)
		if buf, ok = a.AppendText(buf, p); ok {
			var header [maxHeaderLen]byte
			h := appendHeader(header[:0], opText, len(buf)-maxHeaderLen)
			start := maxHeaderLen - len(h)
			copy(buf[start:], h)
			return message{frame: buf[start:], text: buf[maxHeaderLen+len(engineMessage):]}, true
		}
	}
	encoded := enc.Encode(p)
	text, ok := singleText(encoded)
	if !ok {
		return message{encoded: encoded}, false
	}
	return message{frame: newFrame(opText, engineMessage, text.Bytes()), text: text.Bytes(), encoded: encoded}, true
}

// dataOpcode is the opcode of an Engine.IO buffer: text for string buffers (the library's
// StringBuffer), binary for everything else, as the stock transport does.
func dataOpcode(b types.BufferInterface) byte {
	if _, ok := b.(*types.StringBuffer); ok {
		return opText
	}
	return opBinary
}

// sharedFrame is a frame built from one broadcast's pre-encoded packet.
type sharedFrame struct {
	src   types.BufferInterface
	frame []byte
}

// frameCacheSize is how many recent broadcasts keep their frame. A broadcast hands the
// same pre-encoded buffer to every receiver in one loop, so the newest entry is the one
// that hits; a few more absorb broadcasts that interleave on other goroutines.
const frameCacheSize = 8

// frameCache maps a broadcast's pre-encoded packet (by identity: the socket layer encodes
// a broadcast once and hands the same buffer to every receiving socket) to its frame, so
// the frame is built once per broadcast instead of once per receiver. Safe for
// concurrent use; a miss only costs building the frame again.
type frameCache struct {
	slots [frameCacheSize]atomic.Pointer[sharedFrame]
	next  atomic.Uint32
}

// frame returns the frame of the pre-encoded packet src, building it on a miss.
func (c *frameCache) frame(src types.BufferInterface) []byte {
	for i := range c.slots {
		if f := c.slots[i].Load(); f != nil && f.src == src {
			return f.frame
		}
	}
	f := &sharedFrame{src: src, frame: newFrame(dataOpcode(src), src.Bytes())}
	c.slots[c.next.Add(1)%frameCacheSize].Store(f)
	return f.frame
}
