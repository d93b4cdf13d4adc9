package bolt

import (
	"bytes"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

// Keys are built in one allocation each: the writer builds a room's prefix and a cursor
// key for every message it appends.
func TestKeysInOneAllocation(t *testing.T) {
	r := room{prefix: key("/chat", "general")}
	if want := []byte("\x05/chat\x07general"); !bytes.Equal(r.prefix, want) {
		t.Fatalf("key %q, want %q", r.prefix, want)
	}
	if got, want := r.withPrefix("u1", "c1"), []byte("\x05/chat\x07general\x02u1\x02c1"); !bytes.Equal(got, want) {
		t.Fatalf("withPrefix %q, want %q", got, want)
	}
	ref := chat.RoomRef{Namespace: "/chat", Room: "a-room-with-a-rather-long-name"}
	if n := testing.AllocsPerRun(100, func() { key(ref.Namespace, ref.Room) }); n != 1 {
		t.Errorf("key: %v allocations, want 1", n)
	}
	if n := testing.AllocsPerRun(100, func() { r.withPrefix("some-user-id") }); n != 1 {
		t.Errorf("withPrefix: %v allocations, want 1", n)
	}
}

// A view looks its buckets up once: addressing a room again only builds the room's prefix
// (the writer addresses a room for every message of its batch).
func TestViewLooksBucketsUpOnce(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ref := chat.RoomRef{Namespace: "/chat", Room: "general"}
	var n float64
	err = s.writer.read(func(v *view) error {
		n = testing.AllocsPerRun(100, func() { v.room(ref) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n > 1 {
		t.Fatalf("%v allocations to address a room, want 1 (its prefix)", n)
	}
}
