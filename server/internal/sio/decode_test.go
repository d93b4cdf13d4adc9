package sio

import (
	"errors"
	"strings"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

// code is the chat error code of err, or "" for nil.
func code(err error) chat.Code {
	if err == nil {
		return ""
	}
	var e *chat.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "not a chat.Error"
}

func TestDecodeSend(t *testing.T) {
	tests := []struct {
		name    string
		payload any
		want    chat.Code
		check   func(t *testing.T, r chat.SendRequest)
	}{
		{"string payload", "general", chat.CodeBadRequest, nil},
		{"nil payload", nil, chat.CodeBadRequest, nil},
		{"array payload", []any{"general"}, chat.CodeBadRequest, nil},
		{"missing roomId", map[string]any{"content": "x"}, chat.CodeBadRequest, nil},
		{"numeric roomId", map[string]any{"roomId": 5.0, "content": "x"}, chat.CodeBadRequest, nil},
		{"missing content", map[string]any{"roomId": "r"}, chat.CodeBadRequest, nil},
		{"null content", map[string]any{"roomId": "r", "content": nil}, chat.CodeBadRequest, nil},
		{"binary content", map[string]any{"roomId": "r", "content": []byte("x")}, chat.CodeBadRequest, nil},
		{"numeric replyTo", map[string]any{"roomId": "r", "content": "x", "replyTo": 1.0}, chat.CodeBadRequest, nil},
		{"numeric messageId", map[string]any{"roomId": "r", "content": "x", "messageId": 1.0}, chat.CodeBadRequest, nil},
		{"over-long messageId", map[string]any{"roomId": "r", "content": "x", "messageId": strings.Repeat("é", 129)}, chat.CodeBadRequest, nil},
		{"aliases", map[string]any{"room": "r", "message": "hi", "userId": "forged"}, "", func(t *testing.T, r chat.SendRequest) {
			if r.RoomID != "r" || r.Content != "hi" || r.ReplyTo != nil || r.MessageID != nil {
				t.Fatalf("got %+v", r)
			}
		}},
		{"null optionals are absent", map[string]any{"roomId": "r", "content": "x", "replyTo": nil, "messageId": nil}, "", func(t *testing.T, r chat.SendRequest) {
			if r.ReplyTo != nil || r.MessageID != nil {
				t.Fatalf("got %+v", r)
			}
		}},
		{"128 code points is fine", map[string]any{"roomId": "r", "content": "x", "messageId": strings.Repeat("é", 128)}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decodeSend(tt.payload)
			if got := code(err); got != tt.want {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.want, err)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestDecodeJoinAndHistoryNumbers(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  chat.Code
	}{
		{"integer", 5.0, ""},
		{"null", nil, ""},
		{"fraction", 1.5, chat.CodeBadRequest},
		{"string", "5", chat.CodeBadRequest},
		{"bool", true, chat.CodeBadRequest},
		{"huge", 1e300, chat.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeJoin(map[string]any{"roomId": "r", "historyLimit": tt.value}); code(err) != tt.want {
				t.Fatalf("join: code %q, want %q", code(err), tt.want)
			}
			if _, err := decodeHistory(map[string]any{"roomId": "r", "limit": tt.value}); code(err) != tt.want {
				t.Fatalf("history: code %q, want %q", code(err), tt.want)
			}
		})
	}
}

func TestRoomOf(t *testing.T) {
	tests := []struct {
		name    string
		payload any
		room    string
		want    chat.Code
	}{
		{"bare string", "general", "general", ""},
		{"roomId", map[string]any{"roomId": "a"}, "a", ""},
		{"room alias", map[string]any{"room": "b"}, "b", ""},
		{"roomId wins over room", map[string]any{"roomId": "a", "room": "b"}, "a", ""},
		{"number", 7.0, "", chat.CodeBadRequest},
		{"empty object", map[string]any{}, "", chat.CodeBadRequest},
		{"nil", nil, "", chat.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := decodeRoom(tt.payload)
			if code(err) != tt.want || req.RoomID != tt.room {
				t.Fatalf("got %q, %v; want %q, %q", req.RoomID, err, tt.room, tt.want)
			}
		})
	}
}

func TestSendAnswerEvent(t *testing.T) {
	tests := []struct {
		name    string
		payload any
		want    string
	}{
		{"valid messageId", map[string]any{"messageId": "m1"}, "ack:m1"},
		{"no messageId", map[string]any{"roomId": "r"}, ""},
		{"empty messageId", map[string]any{"messageId": ""}, ""},
		{"numeric messageId", map[string]any{"messageId": 3.0}, ""},
		{"not an object", "m1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sendAnswerEvent(tt.payload); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitEvent(t *testing.T) {
	name, args := splitEvent([]any{"send_message", map[string]any{}})
	if name != "send_message" || len(args) != 1 {
		t.Fatalf("got %q %v", name, args)
	}
	if name, args := splitEvent(nil); name != "" || args != nil {
		t.Fatal("empty event must split into nothing")
	}
	if name, _ := splitEvent([]any{1.0, 2.0}); name != "" {
		t.Fatalf("a non-string event name must come out empty, got %q", name)
	}
}

// Required string fields are read without allocating: a send_message without messageId
// or replyTo decodes into its request with no allocation.
func TestDecodeSendWithoutOptionalFieldsAllocatesNothing(t *testing.T) {
	payload := map[string]any{"roomId": "general", "content": "hello"}
	if n := testing.AllocsPerRun(100, func() { _, _ = decodeSend(payload) }); n != 0 {
		t.Fatalf("%v allocations, want none", n)
	}
}
