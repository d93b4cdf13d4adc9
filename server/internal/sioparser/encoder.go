package sioparser

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// encoder writes EVENT and ACK packets whose data holds nothing the library treats
// specially (binary data, readers) straight into one buffer, marshalling the data once,
// and hands every other packet to the library's encoder.
type encoder struct {
	lib parser.Encoder
}

// Encode implements parser.Encoder.
func (e encoder) Encode(p *parser.Packet) []types.BufferInterface {
	if (p.Type != parser.EVENT && p.Type != parser.ACK) || !plain(p.Data) {
		return e.lib.Encode(p)
	}
	return []types.BufferInterface{encodeText(p)}
}

// encodeText is the library's text encoding of p ("2/nsp,42[...]"), data left out when it
// cannot be marshalled or is too large, as the library does.
func encodeText(p *parser.Packet) types.BufferInterface {
	var data []byte
	if p.Data != nil {
		if b, err := json.Marshal(p.Data); err == nil && len(b) <= types.MaxPayloadSize {
			data = b
		}
	}
	buf := make([]byte, 0, 1+len(p.Nsp)+1+20+len(data))
	buf = append(buf, '0'+byte(p.Type))
	if p.Nsp != "" && p.Nsp != "/" {
		buf = append(buf, p.Nsp...)
		buf = append(buf, ',')
	}
	if p.Id != nil {
		buf = strconv.AppendUint(buf, *p.Id, 10)
	}
	return types.NewStringBuffer(append(buf, data...))
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
