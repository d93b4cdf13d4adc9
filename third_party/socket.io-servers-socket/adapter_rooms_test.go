package socket

import (
	"slices"
	"testing"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// iohub patch (AddAll): joining an existing room builds no set, and with nobody listening
// the room events cost nothing; with listeners they are emitted as upstream does.
func TestAdapterAddAllExistingRoomAllocatesOnlyTheKeys(t *testing.T) {
	a := MakeAdapter()
	room := types.NewSet[Room]("general")
	a.AddAll("s1", room)
	a.AddAll("s2", room)
	// Keys() copies the rooms to join: the one allocation left.
	if n := testing.AllocsPerRun(100, func() { a.AddAll("s2", room) }); n > 1 {
		t.Fatalf("AddAll of a joined socket to an existing room: %v allocations, want at most 1", n)
	}
}

func TestAdapterRoomEventsReachListeners(t *testing.T) {
	a := MakeAdapter()
	var got []string
	for _, evt := range []types.EventName{"create-room", "join-room", "leave-room", "delete-room"} {
		_ = a.On(evt, func(args ...any) {
			got = append(got, string(evt)+" "+string(args[0].(Room)))
		})
	}
	a.AddAll("s1", types.NewSet[Room]("r"))
	a.AddAll("s2", types.NewSet[Room]("r"))
	a.AddAll("s2", types.NewSet[Room]("r"))
	a.Del("s1", "r")
	a.DelAll("s2")
	want := []string{"create-room r", "join-room r", "join-room r", "leave-room r", "leave-room r", "delete-room r"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}
