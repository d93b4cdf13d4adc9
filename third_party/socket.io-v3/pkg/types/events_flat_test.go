package types

import (
	"slices"
	"testing"
)

// iohub patch (emmiter): the listeners of a connection's emitter, one per event, are held
// in one slice that fits them; an event whose listeners were removed one by one still
// counts, and a new listener of it takes its place.
func TestEmitterFlatEntries(t *testing.T) {
	e := NewEventEmitter().(*emmiter)
	fns := make([]EventListener, 5)
	for i, evt := range []EventName{"error", "ready", "packet", "drain", "close"} {
		fns[i] = func(...any) {}
		_ = e.On(evt, fns[i])
	}
	if len(e.entries) != 5 || cap(e.entries) != 5 {
		t.Fatalf("5 listeners held in len %d, cap %d", len(e.entries), cap(e.entries))
	}

	e.RemoveListener("ready", fns[1])
	if e.Len() != 5 || e.ListenerCount("ready") != 0 || len(e.Listeners("ready")) != 0 {
		t.Fatalf("after removing the only ready listener: Len %d, ListenerCount %d", e.Len(), e.ListenerCount("ready"))
	}
	called := false
	_ = e.On("ready", func(...any) { called = true })
	e.Emit("ready")
	if !called || e.ListenerCount("ready") != 1 {
		t.Fatalf("new ready listener called %v, ListenerCount %d", called, e.ListenerCount("ready"))
	}
	want := []EventName{"error", "ready", "packet", "drain", "close"}
	if got := e.EventNames(); !slices.Equal(got, want) {
		t.Errorf("EventNames %v, want %v", got, want)
	}
	if !e.RemoveAllListeners("packet") || e.Len() != 4 || e.RemoveAllListeners("packet") {
		t.Errorf("RemoveAllListeners(packet): Len %d", e.Len())
	}
}
