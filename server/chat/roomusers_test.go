package chat

import (
	"sync"
	"testing"
	"time"
)

// sendCounter counts the coalescer's sends per room.
type sendCounter struct {
	mu sync.Mutex
	n  map[RoomRef]int
}

func (s *sendCounter) send(ref RoomRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n[ref]++
}

func (s *sendCounter) count(ref RoomRef) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[ref]
}

// TestRoomUsersCoalescer drives the windows by hand (the interval is an hour, fire is called
// directly): the first change is sent at once, a burst in the window costs one trailing
// send, a quiet window forgets the room, and a leave and re-join within a window is always
// followed by a trailing send although the list is the same as the one sent last.
func TestRoomUsersCoalescer(t *testing.T) {
	sc := &sendCounter{n: map[RoomRef]int{}}
	c := newRoomUsersCoalescer(time.Hour, sc.send)
	defer c.close()
	ref := RoomRef{Namespace: "/", Room: "ru"}
	other := RoomRef{Namespace: "/", Room: "other"}

	c.changed(ref) // A joins after a quiet period: sent at once
	if n := sc.count(ref); n != 1 {
		t.Fatalf("after the first change: %d sends, want 1", n)
	}
	c.fire(ref)    // quiet window: the room is forgotten
	c.changed(ref) // B joins: sent at once, a window opens
	c.changed(ref) // B leaves within the window
	c.changed(ref) // B is back: the list equals the one sent last
	if n := sc.count(ref); n != 2 {
		t.Fatalf("changes within the window were not folded: %d sends, want 2", n)
	}
	c.changed(other)
	if n := sc.count(other); n != 1 {
		t.Errorf("another room's first change: %d sends, want 1 (windows are per room)", n)
	}
	c.fire(ref) // the trailing send, whatever the list
	if n := sc.count(ref); n != 3 {
		t.Fatalf("after the window with changes: %d sends, want 3 (the trailing one)", n)
	}
	c.fire(ref) // quiet window after the trailing send: nothing sent, room forgotten
	if n := sc.count(ref); n != 3 {
		t.Fatalf("a quiet window sent: %d sends, want 3", n)
	}
	c.changed(ref) // after a quiet period: at once again
	if n := sc.count(ref); n != 4 {
		t.Fatalf("first change after a quiet period: %d sends, want 4", n)
	}

	c.close()
	c.changed(other)
	c.fire(ref)
	if n, m := sc.count(ref), sc.count(other); n != 4 || m != 1 {
		t.Errorf("sends after close: room %d (want 4), other %d (want 1)", n, m)
	}
}
