package chattest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/iohub/iohub/server/chat"
)

// TestPresence runs the chat.Presence conformance suite. open must return a fresh, empty
// Presence on every call and release it (if needed) with t.Cleanup.
func TestPresence(t *testing.T, open func(t *testing.T) chat.Presence) {
	tests := []struct {
		name string
		run  func(t *testing.T, p chat.Presence)
	}{
		{"FirstAndLastSocket", testFirstAndLast},
		{"Idempotent", testPresenceIdempotent},
		{"UsersSortedAndCapped", testUsersSorted},
		{"RoomsIsolated", testPresenceIsolated},
		{"ConcurrentSockets", testConcurrentSockets},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open(t)) })
	}
}

// user is the chat.User of id.
func user(id string) chat.User { return chat.User{UserID: id, UserName: "Name of " + id} }

// add is Add that fails the test on error.
func add(t testing.TB, p chat.Presence, room chat.RoomRef, userID, sid string) bool {
	t.Helper()
	first, err := p.Add(t.Context(), room, user(userID), sid)
	if err != nil {
		t.Fatalf("Add(%v, %q, %q): %v", room, userID, sid, err)
	}
	return first
}

// remove is Remove that fails the test on error.
func remove(t testing.TB, p chat.Presence, room chat.RoomRef, userID, sid string) bool {
	t.Helper()
	last, err := p.Remove(t.Context(), room, userID, sid)
	if err != nil {
		t.Fatalf("Remove(%v, %q, %q): %v", room, userID, sid, err)
	}
	return last
}

// wantUsers fails the test unless Users(room, max) lists exactly the given user ids and count.
func wantUsers(t testing.TB, p chat.Presence, room chat.RoomRef, max int, userIDs []string, count int) {
	t.Helper()
	users, gotCount, err := p.Users(t.Context(), room, max)
	if err != nil {
		t.Fatalf("Users(%v, %d): %v", room, max, err)
	}
	want := make([]chat.User, len(userIDs))
	for i, id := range userIDs {
		want[i] = user(id)
	}
	if !slices.Equal(users, want) || gotCount != count {
		t.Fatalf("Users(%v, %d) = %+v, %d; want %+v, %d", room, max, users, gotCount, want, count)
	}
}

// presenceStep is one Add or Remove in a sequence, with its expected result and the users
// listed after it.
type presenceStep struct {
	name   string
	add    bool // else remove
	userID string
	sid    string
	want   bool // first for add, last for remove
	listed []string
}

// runSteps runs steps in order on roomGeneral; each starts where the previous one left off.
func runSteps(t *testing.T, p chat.Presence, steps []presenceStep) {
	t.Helper()
	for _, st := range steps {
		var got bool
		if st.add {
			got = add(t, p, roomGeneral, st.userID, st.sid)
		} else {
			got = remove(t, p, roomGeneral, st.userID, st.sid)
		}
		if got != st.want {
			t.Fatalf("%s (%s of %s): got %t, want %t", st.name, st.sid, st.userID, got, st.want)
		}
		wantUsers(t, p, roomGeneral, 10, st.listed, len(st.listed))
	}
}

func testFirstAndLast(t *testing.T, p chat.Presence) {
	alice, nobody := []string{"alice"}, []string{}
	runSteps(t, p, []presenceStep{
		{"first socket", true, "alice", "s1", true, alice},
		{"second socket", true, "alice", "s2", false, alice},
		{"third socket", true, "alice", "s3", false, alice},
		{"remove one of three", false, "alice", "s2", false, alice},
		{"remove one of two", false, "alice", "s1", false, alice},
		{"remove the last", false, "alice", "s3", true, nobody},
		{"come back", true, "alice", "s4", true, alice},
	})
}

func testPresenceIdempotent(t *testing.T, p chat.Presence) {
	alice, nobody := []string{"alice"}, []string{}
	runSteps(t, p, []presenceStep{
		{"add", true, "alice", "s1", true, alice},
		{"add the same socket", true, "alice", "s1", false, alice},
		{"remove an unknown socket", false, "alice", "s9", false, alice},
		{"remove an unknown user", false, "bob", "s1", false, alice},
		{"remove", false, "alice", "s1", true, nobody},
		{"remove the same socket", false, "alice", "s1", false, nobody},
	})
}

func testUsersSorted(t *testing.T, p chat.Presence) {
	wantUsers(t, p, roomGeneral, 10, []string{}, 0)
	for i, id := range []string{"dave", "alice", "erin", "carol", "bob", "alice"} {
		add(t, p, roomGeneral, id, fmt.Sprintf("s%d", i))
	}
	sorted := []string{"alice", "bob", "carol", "dave", "erin"}
	tests := []struct {
		name string
		max  int
		want []string
	}{
		{"no room for anyone", 0, []string{}},
		{"capped", 2, sorted[:2]},
		{"exactly all", 5, sorted},
		{"more than all", 500, sorted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantUsers(t, p, roomGeneral, tt.max, tt.want, len(sorted))
		})
	}
}

func testPresenceIsolated(t *testing.T, p chat.Presence) {
	for _, room := range distinctRooms {
		if !add(t, p, room, "alice", "s1") {
			t.Fatalf("alice's first socket in %v is not her first", room)
		}
	}
	add(t, p, roomRandom, "bob", "s2")
	if !remove(t, p, roomGeneral, "alice", "s1") {
		t.Fatalf("removing alice's only socket of %v is not her last", roomGeneral)
	}
	exceptions := map[chat.RoomRef][]string{ // every other room has just alice
		roomGeneral: {},
		roomRandom:  {"alice", "bob"},
	}
	for _, room := range distinctRooms {
		t.Run(room.Namespace+" "+room.Room, func(t *testing.T) {
			want, ok := exceptions[room]
			if !ok {
				want = []string{"alice"}
			}
			wantUsers(t, p, room, 10, want, len(want))
		})
	}
}

func testConcurrentSockets(t *testing.T, p chat.Presence) {
	const sockets = 32
	concurrently := func(op func(sid string) (bool, error)) int {
		results := make([]bool, sockets)
		errs := make([]error, sockets)
		var wg sync.WaitGroup
		for i := range sockets {
			wg.Go(func() { results[i], errs[i] = op(fmt.Sprintf("s%d", i)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("socket s%d: %v", i, err)
			}
		}
		n := 0
		for _, r := range results {
			if r {
				n++
			}
		}
		return n
	}
	firsts := concurrently(func(sid string) (bool, error) {
		return p.Add(t.Context(), roomGeneral, user("alice"), sid)
	})
	if firsts != 1 {
		t.Fatalf("%d concurrent Adds reported first, want 1", firsts)
	}
	wantUsers(t, p, roomGeneral, 10, []string{"alice"}, 1)
	lasts := concurrently(func(sid string) (bool, error) {
		return p.Remove(t.Context(), roomGeneral, "alice", sid)
	})
	if lasts != 1 {
		t.Fatalf("%d concurrent Removes reported last, want 1", lasts)
	}
	wantUsers(t, p, roomGeneral, 10, []string{}, 0)
}
