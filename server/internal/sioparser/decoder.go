package sioparser

import (
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// The library decoder's default limits (parser.DefaultMaxNamespaceLength and
// DefaultMaxPacketIDLength): a longer namespace or id is left to it, to refuse.
const (
	maxNamespaceLength = parser.DefaultMaxNamespaceLength
	maxIDDigits        = parser.DefaultMaxPacketIDLength - 1 // it refuses 20 digits already
)

// Reconstruction states of the library decoder, as the decoder tracks them: any positive
// value is the number of binary attachments it still expects.
const (
	idle     = 0  // not reconstructing: text packets may take the fast path
	sticky   = -1 // unknown or permanent: everything goes to the library decoder
	maxState = int64(parser.DefaultMaxAttachments)
)

// decoder decodes text EVENT and ACK packets itself and hands everything else to the
// library's decoder, whose event emitter it shares: "decoded" listeners see the packets of
// both. The library decoder refuses text while it reconstructs a binary packet, so the
// fast path is taken only while state says it is idle.
type decoder struct {
	parser.Decoder
	state atomic.Int64
}

func newDecoder() *decoder { return &decoder{Decoder: parser.NewDecoder()} }

// Add implements parser.Decoder.
func (d *decoder) Add(data any) error {
	if d.state.Load() == idle {
		if s, ok := text(data); ok {
			if p := decodeText(s); p != nil {
				d.Emit("decoded", p)
				return nil
			}
		}
	}
	return d.delegate(data)
}

// delegate hands data to the library decoder and follows its reconstruction state: a
// binary packet's header starts one, each binary attachment it takes counts down. Whatever
// it cannot follow (an error mid-reconstruction, a header with no attachments, which the
// library never finishes, text it cannot read) makes the state sticky, which only costs
// the fast path.
func (d *decoder) delegate(data any) error {
	s, readable := text(data) // before the library decoder consumes it
	state := d.state.Load()
	err := d.Decoder.Add(data)
	switch {
	case isText(data):
		if err != nil || state != idle {
			return err // refused: the state is unchanged
		}
		if !readable {
			d.state.Store(sticky)
		} else if n, binary := attachments(s); binary {
			d.state.Store(n)
		}
	case state > idle:
		if err != nil {
			d.state.Store(sticky)
		} else {
			d.state.Store(state - 1)
		}
	}
	return err
}

// Destroy implements parser.Decoder; the decoder takes the fast path no more.
func (d *decoder) Destroy() {
	d.state.Store(sticky)
	d.Decoder.Destroy()
}

// isText says whether the library decoder takes data for text, as its Add does.
func isText(data any) bool {
	switch data.(type) {
	case string, *strings.Reader, *types.StringBuffer:
		return true
	}
	return false
}

// text is the unread text of data when data is text the decoder can read without
// consuming it.
func text(data any) (string, bool) {
	switch t := data.(type) {
	case string:
		return t, true
	case *types.StringBuffer:
		return t.String(), true
	}
	return "", false
}

// attachments reads the attachment count of a binary packet's header that the library
// decoder accepted: binary is false for other packets; n is sticky for a count of zero (the
// library then stays in reconstruction) or one beyond its limit.
func attachments(s string) (n int64, binary bool) {
	if len(s) == 0 || (s[0] != '0'+byte(parser.BINARY_EVENT) && s[0] != '0'+byte(parser.BINARY_ACK)) {
		return idle, false
	}
	end := strings.IndexByte(s, '-')
	if end < 2 {
		return sticky, true
	}
	count, err := strconv.ParseInt(s[1:end], 10, 64)
	if err != nil || count <= 0 || count > maxState {
		return sticky, true
	}
	return count, true
}

// decodeText decodes a text EVENT or ACK packet ("2/nsp,42[...]") exactly as the library
// decoder would, or returns nil for anything else: other packet types, no JSON array right
// after the header, JSON this package does not decode itself, and every packet the library
// refuses.
func decodeText(s string) *parser.Packet {
	if len(s) < 2 {
		return nil
	}
	typ := parser.PacketType(s[0]) - '0'
	if typ != parser.EVENT && typ != parser.ACK {
		return nil
	}
	pid := &struct {
		p  parser.Packet
		id uint64
	}{p: parser.Packet{Type: typ, Nsp: "/"}} // one allocation for the packet and its id
	p := &pid.p
	i := 1
	if s[i] == '/' {
		n := strings.IndexByte(s[i:], ',')
		if n < 0 || n > maxNamespaceLength {
			return nil
		}
		p.Nsp = s[i : i+n]
		i += n + 1
	}
	digits := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if n := i - digits; n > 0 {
		if n > maxIDDigits {
			return nil
		}
		id, err := strconv.ParseUint(s[digits:i], 10, 64)
		if err != nil {
			return nil
		}
		pid.id = id
		p.Id = &pid.id
	}
	if i >= len(s) || s[i] != '[' {
		return nil
	}
	spare := 0
	if typ == parser.EVENT && p.Id != nil {
		spare = 1 // the socket appends the ack callback to an event's arguments
	}
	args, ok := decodeArray(s[i:], spare)
	if !ok || (typ == parser.EVENT && !validEvent(args)) {
		return nil
	}
	p.Data = args
	return p
}

// validEvent is the library's check of an EVENT's arguments: an event name first, a
// number or a string that is not a reserved event.
func validEvent(args []any) bool {
	if len(args) == 0 {
		return false
	}
	switch name := args[0].(type) {
	case string:
		return !parser.ReservedEvents.Has(name)
	case float64:
		return true
	}
	return false
}
