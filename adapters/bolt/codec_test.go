package bolt

import (
	"errors"
	"reflect"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

func TestCodecRoundTrip(t *testing.T) {
	base := chat.Message{ID: "00000000000000000007", RoomID: "general", UserID: "u1", UserName: "Ünïcødé 🙂",
		Content: "hello\x00world", Timestamp: "2026-11-24T05:01:02.123Z"}
	tests := []struct {
		name            string
		replyTo, client *string
	}{
		{"no optional fields", nil, nil},
		{"reply", new("00000000000000000003"), nil},
		{"client id", nil, new("c-1")},
		{"both, empty strings", new(""), new("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.ReplyTo, in.ClientMessageID = tt.replyTo, tt.client
			out, err := decode(encode(in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Fatalf("decode(encode(%+v)) = %+v", in, out)
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	valid := encode(chat.Message{ID: "1", Content: "hello"})
	tests := []struct {
		name string
		v    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, valid[1:]...)},
		{"truncated", valid[:len(valid)-2]},
		{"length beyond the value", []byte{codecVersion, 0, 200}},
		{"bad varint", []byte{codecVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg, err := decode(tt.v); !errors.Is(err, errCorrupt) {
				t.Fatalf("decode = %+v, %v; want errCorrupt", msg, err)
			}
		})
	}
}
