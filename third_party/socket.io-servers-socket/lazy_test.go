package socket

import (
	"testing"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
)

// iohub patch (lazy): a new socket holds no ack map and no "any" listener list; they are
// made on first use and behave as upstream's.
func TestSocketLazyAcksAndAnyListeners(t *testing.T) {
	s := MakeSocket()
	if s.acks.loaded() != nil || s._anyListeners.loaded() != nil || s._anyOutgoingListeners.loaded() != nil {
		t.Fatal("a new socket made its ack map or an any listener list")
	}
	s.OffAny(nil).OffAnyOutgoing(func(...any) {})
	if s.ListenersAny() != nil || s.ListenersAnyOutgoing() != nil || s._anyListeners.loaded() != nil {
		t.Fatal("reading or removing made a listener list")
	}

	var calls []string
	first := func(...any) { calls = append(calls, "first") }
	second := func(...any) { calls = append(calls, "second") }
	s.OnAny(second).PrependAny(first)
	if n := len(s.ListenersAny()); n != 2 {
		t.Fatalf("%d any listeners, want 2", n)
	}
	s.OffAny(first)
	if n := len(s.ListenersAny()); n != 1 {
		t.Fatalf("%d any listeners after OffAny, want 1", n)
	}

	var sent []any
	s.OnAnyOutgoing(func(args ...any) { sent = args })
	s.notifyOutgoingListeners(&parser.Packet{Type: parser.EVENT, Data: []any{"ev", 1}})
	if len(sent) != 2 || sent[0] != "ev" {
		t.Fatalf("outgoing listener got %v", sent)
	}
	s.OffAnyOutgoing(nil)
	if len(s.ListenersAnyOutgoing()) != 0 {
		t.Error("OffAnyOutgoing(nil) left listeners")
	}

	s.Acks().Store(7, func([]any, error) {})
	if _, ok := s.acks.loaded().Load(7); !ok {
		t.Error("Acks() did not give the socket's ack map")
	}
}
