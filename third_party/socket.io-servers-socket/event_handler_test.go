package socket

import (
	"testing"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
)

// iohub patch (SetEventHandler): the handler takes each event with its ack id, and neither
// the middlewares nor an ack callback are involved.
func TestSocketEventHandlerTakesEvents(t *testing.T) {
	s := MakeSocket()
	s.Use(func([]any, func(error)) { t.Error("a middleware ran") })
	type event struct {
		args []any
		id   *uint64
	}
	var got []event
	s.SetEventHandler(func(args []any, id *uint64) { got = append(got, event{args, id}) })

	id := uint64(7)
	s.onevent(&parser.Packet{Type: parser.EVENT, Id: &id, Data: []any{"with-ack", "x"}})
	s.onevent(&parser.Packet{Type: parser.EVENT, Data: []any{"without"}})
	if len(got) != 2 {
		t.Fatalf("handler called %d times, want 2", len(got))
	}
	if a := got[0].args; len(a) != 2 || a[0] != "with-ack" || a[1] != "x" {
		t.Errorf("first event's args %v, want [with-ack x] and no ack callback", a)
	}
	if got[0].id == nil || *got[0].id != 7 {
		t.Errorf("first event's ack id %v, want 7", got[0].id)
	}
	if a := got[1].args; len(a) != 1 || a[0] != "without" || got[1].id != nil {
		t.Errorf("second event %v id %v, want [without] and no id", a, got[1].id)
	}
}
