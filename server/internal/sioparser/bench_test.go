package sioparser

import (
	"testing"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// benchSend is a send_message with an ack id, as socket.io-client sends it.
const benchSend = `21["send_message",{"roomId":"general","content":"hello there, how is everyone doing today?","messageId":"c-7f3a9e"}]`

// benchDecode decodes benchSend as the engine hands it over (a fresh buffer per packet).
func benchDecode(b *testing.B, d parser.Decoder) {
	var got *parser.Packet
	_ = d.On("decoded", func(args ...any) { got, _ = args[0].(*parser.Packet) })
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Add(types.NewStringBufferString(benchSend)); err != nil {
			b.Fatal(err)
		}
	}
	if got == nil || got.Type != parser.EVENT {
		b.Fatalf("decoded %+v", got)
	}
}

func BenchmarkDecodeSend(b *testing.B) {
	b.Run("library", func(b *testing.B) { benchDecode(b, parser.NewDecoder()) })
	b.Run("iohub", func(b *testing.B) { benchDecode(b, New().NewDecoder()) })
}

// message is shaped like chat.Message, the data of new_message and of send_message's ack.
type message struct {
	ID        string    `json:"id"`
	RoomID    string    `json:"roomId"`
	UserID    string    `json:"userId"`
	Username  string    `json:"username"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"createdAt"`
	ReplyTo   *string   `json:"replyTo,omitempty"`
}

var benchMessage = message{
	ID: "01JDQ4Z6X8M3K2N5P7R9T1V3W5", RoomID: "general", UserID: "u-42", Username: "alice",
	Content: "hello there, how is everyone doing today?", CreatedAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC),
}

func benchEncode(b *testing.B, e parser.Encoder, p *parser.Packet) {
	b.ReportAllocs()
	for b.Loop() {
		if out := e.Encode(p); len(out) != 1 {
			b.Fatal(len(out))
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	p := &parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"new_message", benchMessage}}
	b.Run("library", func(b *testing.B) { benchEncode(b, parser.NewEncoder(), p) })
	b.Run("iohub", func(b *testing.B) { benchEncode(b, New().NewEncoder(), p) })
}

func BenchmarkEncodeAck(b *testing.B) {
	n := uint64(1)
	p := &parser.Packet{Type: parser.ACK, Nsp: "/", Id: &n, Data: []any{map[string]any{"success": true, "message": benchMessage}}}
	b.Run("library", func(b *testing.B) { benchEncode(b, parser.NewEncoder(), p) })
	b.Run("iohub", func(b *testing.B) { benchEncode(b, New().NewEncoder(), p) })
}
