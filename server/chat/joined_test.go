package chat

import (
	"slices"
	"testing"
)

// TestJoinedRooms holds the session's room bookkeeping: membership, the typing flag per
// room, removal, and the join order of names.
func TestJoinedRooms(t *testing.T) {
	var j joinedRooms
	j.set("a", false)
	j.set("b", true)
	j.set("c", false)
	j.set("a", true) // typing in a room already joined
	if !j.has("a") || j.has("x") || len(j) != 3 {
		t.Fatalf("has(a) %v, has(x) %v, len %d", j.has("a"), j.has("x"), len(j))
	}
	if !j.typing("a") || !j.typing("b") || j.typing("c") || j.typing("x") {
		t.Errorf("typing a %v, b %v, c %v, x %v", j.typing("a"), j.typing("b"), j.typing("c"), j.typing("x"))
	}
	names := j.names()
	j.remove("b")
	j.remove("x")
	if j.has("b") || !slices.Equal(j.names(), []string{"a", "c"}) {
		t.Errorf("after remove(b): %v", j.names())
	}
	if !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("names taken before the removal changed: %v", names)
	}
}
