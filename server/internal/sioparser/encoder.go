package sioparser

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/iohub/iohub/server/internal/jsonenc"
)

// encoder writes EVENT and ACK packets whose data holds nothing the library treats
// specially (binary data, readers) straight into one buffer, marshalling the data once,
// and hands every other packet to the library's encoder.
type encoder struct {
	lib parser.Encoder
}

// Encode implements parser.Encoder.
func (e encoder) Encode(p *parser.Packet) []types.BufferInterface {
	if !textOnly(p) {
		return e.lib.Encode(p)
	}
	text := appendText(make([]byte, 0, textSizeHint+len(p.Nsp)), p)
	return []types.BufferInterface{types.NewStringBuffer(text)}
}

// AppendText appends p's encoding to dst when Encode makes it one text buffer, and
// reports true; for a packet Encode hands to the library's encoder it returns dst
// unchanged and false. iohub's transport encodes a packet straight into its frame with it.
func (e encoder) AppendText(dst []byte, p *parser.Packet) ([]byte, bool) {
	if !textOnly(p) {
		return dst, false
	}
	return appendText(dst, p), true
}

// textOnly says whether iohub encodes p itself, as one text buffer: an EVENT or ACK whose
// data is plain.
func textOnly(p *parser.Packet) bool {
	return (p.Type == parser.EVENT || p.Type == parser.ACK) && plain(p.Data)
}

// appendText appends the library's text encoding of p ("2/nsp,42[...]") to buf, data left
// out when it cannot be marshalled or is too large, as the library does.
func appendText(buf []byte, p *parser.Packet) []byte {
	buf = append(buf, '0'+byte(p.Type))
	if p.Nsp != "" && p.Nsp != "/" {
		buf = append(buf, p.Nsp...)
		buf = append(buf, ',')
	}
	if p.Id != nil {
		buf = strconv.AppendUint(buf, *p.Id, 10)
	}
	return appendData(buf, p.Data)
}

// textSizeHint is the capacity a packet's text starts with: a chat message's broadcast
// or reply fits.
const textSizeHint = 512

// appendData appends the JSON of a packet's data to buf, nothing when there is none or it
// cannot be marshalled or is over types.MaxPayloadSize.
func appendData(buf []byte, data any) []byte {
	if data == nil {
		return buf
	}
	if out, ok := appendArray(buf, data); ok {
		if len(out)-len(buf) <= types.MaxPayloadSize {
			return out
		}
		return buf
	}
	if b, err := json.Marshal(data); err == nil && len(b) <= types.MaxPayloadSize {
		return append(buf, b...)
	}
	return buf
}

// jsonAppender is a value that appends its own JSON encoding, byte for byte what
// json.Marshal writes for it (chat.Message, chat.SendReply).
type jsonAppender interface {
	AppendJSON(dst []byte) []byte
}

// appendArray appends data's JSON without reflection when it is a []any of strings and
// jsonAppenders (an event's name and chat payload, a reply); ok is false, and buf
// unchanged, for anything else.
func appendArray(buf []byte, data any) (out []byte, ok bool) {
	args, isArray := data.([]any)
	if !isArray || args == nil {
		return buf, false
	}
	out = append(buf, '[')
	for i, a := range args {
		if i > 0 {
			out = append(out, ',')
		}
		switch v := a.(type) {
		case string:
			out = jsonenc.AppendString(out, v)
		case jsonAppender:
			out = v.AppendJSON(out)
		default:
			return buf, false
		}
	}
	return append(out, ']'), true
}

// plain says whether v holds nothing that the library's encoder finds binary
// (parser.HasBinary) or converts before marshalling (a *strings.Reader), looking where it
// looks: into []any and map[string]any. Such data marshals the same as the library's copy.
func plain(v any) bool {
	switch t := v.(type) {
	case nil, string, bool, float64, int, int64:
		return true
	case []any:
		if t == nil { // the library's copy turns it into []
			return false
		}
		for _, e := range t {
			if !plain(e) {
				return false
			}
		}
		return true
	case map[string]any:
		if t == nil { // the library's copy turns it into {}
			return false
		}
		for _, e := range t {
			if !plain(e) {
				return false
			}
		}
		return true
	case *strings.Reader, *types.StringBuffer, []byte, io.Reader:
		return false
	}
	return true
}
