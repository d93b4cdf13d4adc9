package sioparser

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/iohub/iohub/server/chat"
)

// encoded is what an encoder produced: each buffer's type and bytes.
type encoded struct {
	Type  string
	Bytes string
}

func encode(e parser.Encoder, p *parser.Packet) []encoded {
	var out []encoded
	for _, b := range e.Encode(p) {
		out = append(out, encoded{reflect.TypeOf(b).String(), string(b.Bytes())})
	}
	return out
}

type reply struct {
	Success bool      `json:"success"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at"`
	Raw     []byte    `json:"raw,omitempty"`
}

func id(n uint64) *uint64 { return &n }

func TestEncodeSameAsLibrary(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	packets := func() map[string]*parser.Packet {
		return map[string]*parser.Packet{
			"event":              {Type: parser.EVENT, Nsp: "/", Data: []any{"new_message", reply{Success: true, Message: "<hi> & \u2028", At: at}}},
			"event nsp id":       {Type: parser.EVENT, Nsp: "/chat", Id: id(7), Data: []any{"a", 1, 2.5, true, nil, "x"}},
			"event empty nsp":    {Type: parser.EVENT, Data: []any{"a"}},
			"ack":                {Type: parser.ACK, Nsp: "/", Id: id(12), Data: []any{map[string]any{"success": true, "n": []any{1, "2"}}}},
			"ack no data":        {Type: parser.ACK, Nsp: "/chat", Id: id(0)},
			"struct with bytes":  {Type: parser.EVENT, Data: []any{"a", reply{Raw: []byte("abc")}}},
			"nil slice":          {Type: parser.EVENT, Data: []any{"a", []any(nil)}},
			"nil map":            {Type: parser.EVENT, Data: []any{"a", map[string]any(nil)}},
			"nil data slice":     {Type: parser.ACK, Id: id(1), Data: []any(nil)},
			"unmarshallable":     {Type: parser.EVENT, Data: []any{"a", math.Inf(1)}},
			"channel":            {Type: parser.EVENT, Data: []any{"a", make(chan int)}},
			"binary":             {Type: parser.EVENT, Data: []any{"upload", []byte{1, 2, 3}}},
			"nested binary":      {Type: parser.ACK, Id: id(3), Data: []any{map[string]any{"file": []byte{1}}}},
			"binary in array":    {Type: parser.EVENT, Nsp: "/chat", Data: []any{"a", []any{1, []byte{2}}}},
			"reader":             {Type: parser.EVENT, Data: []any{"a", strings.NewReader("text")}},
			"string buffer":      {Type: parser.EVENT, Data: []any{"a", types.NewStringBufferString("text")}},
			"connect":            {Type: parser.CONNECT, Nsp: "/chat", Data: map[string]any{"sid": "abc"}},
			"connect error":      {Type: parser.CONNECT_ERROR, Nsp: "/", Data: map[string]any{"message": "no"}},
			"disconnect":         {Type: parser.DISCONNECT, Nsp: "/chat"},
			"binary event":       {Type: parser.BINARY_EVENT, Data: []any{"a", []byte{1}}},
			"non-slice data":     {Type: parser.EVENT, Data: "just a string"},
			"chat message":       {Type: parser.EVENT, Nsp: "/chat", Data: []any{"new_message", chatMessage}},
			"chat reply":         {Type: parser.ACK, Id: id(9), Data: []any{chat.SendReply{Success: true, Message: chatMessage, SavedID: chatMessage.ID}}},
			"appender and other": {Type: parser.EVENT, Data: []any{"a", chatMessage, 1}},
		}
	}
	for name := range packets() {
		t.Run(name, func(t *testing.T) {
			// fresh packets for each encoder: the library's reads the readers it meets
			want := encode(parser.NewEncoder(), packets()[name])
			got := encode(New().NewEncoder(), packets()[name])
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %q\nwant %q", got, want)
			}
		})
	}
}

// chatMessage is a message as the chat service broadcasts it; it encodes itself.
var chatMessage = chat.Message{
	ID: "00000000000000000001-abcdefgh", RoomID: "general", UserID: "u1", UserName: "<Ann> & co",
	Content: "hi \u2028 \"there\"", ClientMessageID: new("c1"), Timestamp: "2026-11-24T05:01:02.123Z",
}

// A broadcast or reply carrying a chat message is encoded without encoding/json: one
// buffer for the text and the buffer type around it.
func TestEncodeChatMessageWithoutReflection(t *testing.T) {
	e := New().NewEncoder()
	p := &parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"new_message", chatMessage}}
	if n := testing.AllocsPerRun(100, func() { e.Encode(p) }); n > 4 {
		t.Fatalf("%v allocations per encoding, want at most 4 (result slice, text, string buffer)", n)
	}
}

// The packet round-trips through iohub's encoder and decoder.
func TestRoundTrip(t *testing.T) {
	p := &parser.Packet{Type: parser.EVENT, Nsp: "/chat", Id: id(5), Data: []any{"send_message", map[string]any{
		"roomId": "general", "content": "line\n\"quoted\" é 😀", "n": 1.5, "tags": []any{"a", nil, true},
	}}}
	enc := New().NewEncoder().Encode(p)
	if len(enc) != 1 {
		t.Fatalf("%d buffers", len(enc))
	}
	var got *parser.Packet
	d := New().NewDecoder()
	_ = d.On("decoded", func(args ...any) { got, _ = args[0].(*parser.Packet) })
	if err := d.Add(enc[0]); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v, want %+v", got, p)
	}
}
