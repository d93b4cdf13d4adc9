package chat

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkMessageEncode is the encoding of one new_message broadcast: the library's
// parser marshals the event array once per broadcast (not per receiver).
func BenchmarkMessageEncode(b *testing.B) {
	ref := RoomRef{Namespace: "/", Room: "general"}
	msg := Message{
		ID: FormatID(ref, 123456), RoomID: ref.Room, UserID: "u-42", UserName: "Ada",
		Content:   "hello there, how is everyone doing today?",
		Timestamp: FormatTimestamp(time.Date(2026, 11, 24, 5, 1, 2, 123e6, time.UTC)),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal([]any{EventNewMessage, msg}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPresenceChangeCoalesced is a presence change inside a room's room_users window
// (the path every join of a burst takes after the first).
func BenchmarkPresenceChangeCoalesced(b *testing.B) {
	c := newRoomUsersCoalescer(time.Hour, func(RoomRef) {})
	defer c.close()
	ref := RoomRef{Namespace: "/", Room: "general"}
	c.changed(ref)
	b.ReportAllocs()
	for b.Loop() {
		c.changed(ref)
	}
}

// BenchmarkPresenceChangeFirst is the first change after a quiet period: the list is sent
// at once and a window opens.
func BenchmarkPresenceChangeFirst(b *testing.B) {
	c := newRoomUsersCoalescer(time.Hour, func(RoomRef) {})
	defer c.close()
	ref := RoomRef{Namespace: "/", Room: "general"}
	b.ReportAllocs()
	for b.Loop() {
		c.changed(ref)
		c.mu.Lock()
		c.rooms[ref].timer.Stop()
		delete(c.rooms, ref)
		c.mu.Unlock()
	}
}
