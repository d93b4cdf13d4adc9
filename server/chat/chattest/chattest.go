// Package chattest holds the conformance suites that every chat.Store and chat.Presence
// implementation runs, so memory, bolt and Redis behave alike:
//
//	func TestStore(t *testing.T) {
//		chattest.TestStore(t, func(t *testing.T) chat.Store { return memory.NewStore() })
//	}
//
// The suites rely only on the interface doc comments in package chat.
package chattest

import "github.com/iohub/iohub/server/chat"

// Rooms that the suites use; the first two share a name in different namespaces.
var (
	roomGeneral     = chat.RoomRef{Namespace: "/", Room: "general"}
	roomChatGeneral = chat.RoomRef{Namespace: "/chat", Room: "general"}
	roomRandom      = chat.RoomRef{Namespace: "/", Room: "random"}
)

// distinctRooms are rooms that must not share anything, including pairs that naive key
// building would merge: plain concatenation, a ":" separator, a name that extends another.
var distinctRooms = []chat.RoomRef{
	roomGeneral, roomChatGeneral, roomRandom,
	{Namespace: "/", Room: "chatgeneral"},
	{Namespace: "/", Room: "general2"},
	{Namespace: "/a:b", Room: "c"},
	{Namespace: "/a", Room: "b:c"},
}

// ptr returns a pointer to s, for the optional fields of chat.Message.
func ptr(s string) *string { return &s }

// ids lists the IDs of msgs in order.
func ids(msgs []chat.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}
