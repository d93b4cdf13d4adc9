package chattest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/iohub/iohub/server/chat"
)

// TestStore runs the chat.Store conformance suite. open must return a fresh, empty store
// on every call; the suite closes every store it opens, so open must not.
func TestStore(t *testing.T, open func(t *testing.T) chat.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s chat.Store)
	}{
		{"AppendAssignsIDAndTimestamp", testAppendAssigns},
		{"IDsIncreaseByteWise", testIDsIncrease},
		{"RoomsAndNamespacesIsolated", testRoomsIsolated},
		{"RetryDeduplication", testRetryDedup},
		{"ConcurrentRetries", testConcurrentRetries},
		{"FindSent", testFindSent},
		{"ReplyTo", testReplyTo},
		{"AppendMovesAuthorCursor", testAppendMovesCursor},
		{"HistoryPaging", testHistoryPaging},
		{"HistoryPageWalk", testHistoryPageWalk},
		{"MarkReadForwardOnly", testMarkReadForward},
		{"MarkReadUnknownID", testMarkReadUnknown},
		{"UnreadPerUser", testUnreadPerUser},
		{"ConcurrentAppends", testConcurrentAppends},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.run(t, s)
		})
	}
	t.Run("Close", func(t *testing.T) {
		s := open(t)
		send(t, s, roomGeneral, "alice", "bye")
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}

// message builds a message of author as a client would submit it.
func message(room chat.RoomRef, author, content string) chat.Message {
	return chat.Message{RoomID: room.Room, UserID: author, UserName: "Name of " + author, Content: content}
}

// send appends a new message and fails the test unless it is stored as a new message.
func send(t testing.TB, s chat.Store, room chat.RoomRef, author, content string) chat.Message {
	t.Helper()
	return store(t, s, room, message(room, author, content))
}

// store appends msg and fails the test unless it is stored as a new message.
func store(t testing.TB, s chat.Store, room chat.RoomRef, msg chat.Message) chat.Message {
	t.Helper()
	stored, dup, err := s.Append(t.Context(), room, msg)
	if err != nil {
		t.Fatalf("Append(%v, %q): %v", room, msg.Content, err)
	}
	if dup {
		t.Fatalf("Append(%v, %q): duplicate, want a new message", room, msg.Content)
	}
	return stored
}

// sendN appends n messages of author and returns them in order.
func sendN(t testing.TB, s chat.Store, room chat.RoomRef, author string, n int) []chat.Message {
	t.Helper()
	out := make([]chat.Message, n)
	for i := range out {
		out[i] = send(t, s, room, author, fmt.Sprintf("%s #%d", author, i))
	}
	return out
}

// history is History that fails the test on error.
func history(t testing.TB, s chat.Store, room chat.RoomRef, before string, limit int) ([]chat.Message, bool) {
	t.Helper()
	msgs, hasMore, err := s.History(t.Context(), room, before, limit)
	if err != nil {
		t.Fatalf("History(%v, %q, %d): %v", room, before, limit, err)
	}
	return msgs, hasMore
}

// allIDs walks the whole history of the room, page by page, and returns its IDs oldest first.
func allIDs(t testing.TB, s chat.Store, room chat.RoomRef) []string {
	t.Helper()
	var out []string
	before := ""
	for {
		page, hasMore := history(t, s, room, before, 7)
		out = append(ids(page), out...)
		if !hasMore {
			return out
		}
		if len(page) == 0 {
			t.Fatalf("History(%v, %q): empty page with hasMore", room, before)
		}
		before = page[0].ID
	}
}

// wantReadState fails the test unless userID's read state in the room is as given.
func wantReadState(t testing.TB, s chat.Store, room chat.RoomRef, userID, cursor string, unread int) {
	t.Helper()
	gotCursor, gotUnread, err := s.ReadState(t.Context(), room, userID)
	if err != nil {
		t.Fatalf("ReadState(%v, %q): %v", room, userID, err)
	}
	if gotCursor != cursor || gotUnread != unread {
		t.Fatalf("ReadState(%v, %q) = %q, %d; want %q, %d", room, userID, gotCursor, gotUnread, cursor, unread)
	}
}

// wantIncreasing fails the test unless ids are strictly increasing byte-wise.
func wantIncreasing(t testing.TB, ids []string) {
	t.Helper()
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("id %d %q does not sort before id %d %q", i-1, ids[i-1], i, ids[i])
		}
	}
}

func testAppendAssigns(t *testing.T, s chat.Store) {
	in := message(roomGeneral, "alice", "hello")
	got := store(t, s, roomGeneral, in)
	if got.ID == "" {
		t.Fatal("stored message has no ID")
	}
	ts, err := time.Parse(chat.TimestampLayout, got.Timestamp)
	if err != nil {
		t.Fatalf("timestamp %q: %v", got.Timestamp, err)
	}
	if again := ts.Format(chat.TimestampLayout); again != got.Timestamp {
		t.Fatalf("timestamp %q is not in TimestampLayout (reformats as %q)", got.Timestamp, again)
	}
	want := in
	want.ID, want.Timestamp = got.ID, got.Timestamp
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Append stored %+v, want %+v", got, want)
	}
	page, hasMore := history(t, s, roomGeneral, "", 10)
	if !reflect.DeepEqual(page, []chat.Message{got}) || hasMore {
		t.Fatalf("History = %+v, %t; want [%+v], false", page, hasMore, got)
	}
}

func testIDsIncrease(t *testing.T, s chat.Store) {
	const n = 120 // crosses 9 -> 10 and 99 -> 100
	sent := ids(sendN(t, s, roomGeneral, "alice", n))
	wantIncreasing(t, sent)
	if got := allIDs(t, s, roomGeneral); !slices.Equal(got, sent) {
		t.Fatalf("history ids = %q, want %q", got, sent)
	}
}

func testRoomsIsolated(t *testing.T, s chat.Store) {
	sent := make(map[chat.RoomRef][]string)
	for i, room := range distinctRooms {
		for range i + 1 {
			msg := message(room, "alice", "in "+room.Namespace+room.Room)
			msg.ClientMessageID = ptr("same-client-id-" + fmt.Sprint(len(sent[room])))
			sent[room] = append(sent[room], store(t, s, room, msg).ID)
		}
	}
	for _, room := range distinctRooms {
		t.Run(room.Namespace+" "+room.Room, func(t *testing.T) {
			page, _ := history(t, s, room, "", 100)
			if got := ids(page); !slices.Equal(got, sent[room]) {
				t.Fatalf("history ids = %q, want %q", got, sent[room])
			}
			for _, m := range page {
				if want := "in " + room.Namespace + room.Room; m.Content != want {
					t.Fatalf("message %q has content %q, want %q", m.ID, m.Content, want)
				}
			}
			wantReadState(t, s, room, "bob", "", len(sent[room]))
		})
	}
}

func testRetryDedup(t *testing.T, s chat.Store) {
	tests := []struct {
		name    string
		room    chat.RoomRef
		author  string
		cid     *string
		wantDup bool
	}{
		{"same author, room and id", roomGeneral, "alice", ptr("c1"), true},
		{"another author", roomGeneral, "bob", ptr("c1"), false},
		{"another room", roomRandom, "alice", ptr("c1"), false},
		{"another namespace", roomChatGeneral, "alice", ptr("c1"), false},
		{"another id", roomGeneral, "alice", ptr("c2"), false},
		{"no id", roomGeneral, "alice", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := message(roomGeneral, "alice", "original")
			first.ClientMessageID = ptr("c1")
			orig, _, err := s.Append(t.Context(), roomGeneral, first)
			if err != nil {
				t.Fatalf("Append original: %v", err)
			}
			before := allIDs(t, s, tt.room)

			retry := message(tt.room, tt.author, "retried")
			retry.ClientMessageID = tt.cid
			got, dup, err := s.Append(t.Context(), tt.room, retry)
			if err != nil {
				t.Fatalf("Append retry: %v", err)
			}
			after := allIDs(t, s, tt.room)
			switch {
			case dup != tt.wantDup:
				t.Fatalf("duplicate = %t, want %t", dup, tt.wantDup)
			case tt.wantDup && !reflect.DeepEqual(got, orig):
				t.Fatalf("duplicate returned %+v, want the original %+v", got, orig)
			case tt.wantDup && !slices.Equal(after, before):
				t.Fatalf("duplicate changed history from %q to %q", before, after)
			case !tt.wantDup && (got.Content != "retried" || len(after) != len(before)+1):
				t.Fatalf("new message %+v not stored: history %q -> %q", got, before, after)
			}
		})
	}
}

// testFindSent checks that FindSent finds exactly what a retry would get back from Append.
func testFindSent(t *testing.T, s chat.Store) {
	first := message(roomGeneral, "alice", "original")
	first.ClientMessageID = ptr("c1")
	orig := store(t, s, roomGeneral, first)
	tests := []struct {
		name      string
		room      chat.RoomRef
		author    string
		cid       string
		wantFound bool
	}{
		{"same author, room and id", roomGeneral, "alice", "c1", true},
		{"another author", roomGeneral, "bob", "c1", false},
		{"another room", roomRandom, "alice", "c1", false},
		{"another namespace", roomChatGeneral, "alice", "c1", false},
		{"another id", roomGeneral, "alice", "c2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := s.FindSent(t.Context(), tt.room, tt.author, tt.cid)
			switch {
			case err != nil:
				t.Fatalf("FindSent: %v", err)
			case found != tt.wantFound:
				t.Fatalf("found = %t, want %t", found, tt.wantFound)
			case found && !reflect.DeepEqual(got, orig):
				t.Fatalf("FindSent returned %+v, want the original %+v", got, orig)
			}
		})
	}
}

func testConcurrentRetries(t *testing.T, s chat.Store) {
	const n = 16
	type result struct {
		msg chat.Message
		dup bool
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			msg := message(roomGeneral, "alice", fmt.Sprintf("attempt %d", i))
			msg.ClientMessageID = ptr("once")
			r := &results[i]
			r.msg, r.dup, r.err = s.Append(t.Context(), roomGeneral, msg)
		})
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("attempt %d: %v", i, r.err)
		}
		if !r.dup {
			fresh++
		}
		if !reflect.DeepEqual(r.msg, results[0].msg) {
			t.Fatalf("attempt %d got %+v, attempt 0 got %+v", i, r.msg, results[0].msg)
		}
	}
	if fresh != 1 {
		t.Fatalf("%d attempts stored a new message, want 1", fresh)
	}
	if got := allIDs(t, s, roomGeneral); len(got) != 1 {
		t.Fatalf("history ids = %q, want one message", got)
	}
}

func testReplyTo(t *testing.T, s chat.Store) {
	own := sendN(t, s, roomGeneral, "bob", 2)
	other := sendN(t, s, roomRandom, "bob", 5)
	foreign := other[len(other)-1].ID // an id of roomRandom that roomGeneral does not have
	if slices.Contains(ids(own), foreign) {
		t.Fatalf("test setup: %q is in both rooms", foreign)
	}
	tests := []struct {
		name    string
		replyTo string
		wantErr error
	}{
		{"message of the room", own[0].ID, nil},
		{"unknown id", "no-such-message", chat.ErrNotFound},
		{"message of another room", foreign, chat.ErrNotFound},
		{"same position in another room", other[0].ID, chat.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := allIDs(t, s, roomGeneral)
			cursor, unread, err := s.ReadState(t.Context(), roomGeneral, "alice")
			if err != nil {
				t.Fatalf("ReadState: %v", err)
			}
			msg := message(roomGeneral, "alice", "re: "+tt.name)
			msg.ReplyTo = ptr(tt.replyTo)
			msg.ClientMessageID = ptr("reply " + tt.name)
			got, _, err := s.Append(t.Context(), roomGeneral, msg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Append error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil {
				if got.ReplyTo == nil || *got.ReplyTo != tt.replyTo {
					t.Fatalf("stored ReplyTo = %v, want %q", got.ReplyTo, tt.replyTo)
				}
				return
			}
			if after := allIDs(t, s, roomGeneral); !slices.Equal(after, before) {
				t.Fatalf("refused Append changed history from %q to %q", before, after)
			}
			wantReadState(t, s, roomGeneral, "alice", cursor, unread)
			msg.ReplyTo = nil // the refused attempt must not have consumed the client id
			store(t, s, roomGeneral, msg)
		})
	}
}

func testAppendMovesCursor(t *testing.T, s chat.Store) {
	bobs := sendN(t, s, roomGeneral, "bob", 2)
	wantReadState(t, s, roomGeneral, "alice", "", 2)
	wantReadState(t, s, roomGeneral, "bob", bobs[1].ID, 0)
	alices := send(t, s, roomGeneral, "alice", "hi")
	wantReadState(t, s, roomGeneral, "alice", alices.ID, 0)
	wantReadState(t, s, roomGeneral, "bob", bobs[1].ID, 1)
	send(t, s, roomGeneral, "bob", "hi back")
	wantReadState(t, s, roomGeneral, "alice", alices.ID, 1)
}

func testHistoryPaging(t *testing.T, s chat.Store) {
	if page, hasMore := history(t, s, roomGeneral, "", 10); len(page) != 0 || hasMore {
		t.Fatalf("History of an empty room = %+v, %t; want nothing", page, hasMore)
	}
	all := ids(sendN(t, s, roomGeneral, "alice", 10))
	tests := []struct {
		name     string
		before   string
		limit    int
		from, to int // want all[from:to]
		hasMore  bool
	}{
		{"newest page", "", 3, 7, 10, true},
		{"everything", "", 10, 0, 10, false},
		{"limit beyond count", "", 50, 0, 10, false},
		{"before an id", all[5], 3, 2, 5, true},
		{"before an id, reaching the start", all[3], 3, 0, 3, false},
		{"before an id, limit beyond start", all[2], 5, 0, 2, false},
		{"before the first id", all[0], 5, 0, 0, false},
		{"before the last id", all[9], 1, 8, 9, true},
		{"after an id, not an id itself", all[4] + "\x00", 2, 3, 5, true},
		{"a prefix of the first id", all[0][:1], 3, 0, 0, false},
		{"sorting after every id", "\xff", 4, 6, 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, hasMore := history(t, s, roomGeneral, tt.before, tt.limit)
			if got, want := ids(page), all[tt.from:tt.to]; !slices.Equal(got, want) || hasMore != tt.hasMore {
				t.Fatalf("History(%q, %d) = %q, %t; want %q, %t", tt.before, tt.limit, got, hasMore, want, tt.hasMore)
			}
		})
	}
}

func testHistoryPageWalk(t *testing.T, s chat.Store) {
	sent := ids(sendN(t, s, roomGeneral, "alice", 30))
	sendN(t, s, roomRandom, "alice", 3)
	if got := allIDs(t, s, roomGeneral); !slices.Equal(got, sent) {
		t.Fatalf("walking history pages gave %q, want %q", got, sent)
	}
}

func testMarkReadForward(t *testing.T, s chat.Store) {
	msgs := ids(sendN(t, s, roomGeneral, "bob", 5))
	wantReadState(t, s, roomGeneral, "alice", "", 5)
	steps := []struct {
		name       string
		id         string
		wantCursor string
		wantUnread int
		wantMoved  bool
	}{
		{"first read", msgs[1], msgs[1], 3, true},
		{"same id again", msgs[1], msgs[1], 3, false},
		{"older id", msgs[0], msgs[1], 3, false},
		{"forward", msgs[3], msgs[3], 1, true},
		{"to the newest", msgs[4], msgs[4], 0, true},
		{"back to an old one", msgs[2], msgs[4], 0, false},
	}
	for _, st := range steps { // each step starts where the previous one left off
		cursor, unread, moved, err := s.MarkRead(t.Context(), roomGeneral, "alice", st.id)
		if err != nil {
			t.Fatalf("%s: MarkRead(%q): %v", st.name, st.id, err)
		}
		if cursor != st.wantCursor || unread != st.wantUnread || moved != st.wantMoved {
			t.Fatalf("%s: MarkRead(%q) = %q, %d, %t; want %q, %d, %t", st.name, st.id,
				cursor, unread, moved, st.wantCursor, st.wantUnread, st.wantMoved)
		}
		wantReadState(t, s, roomGeneral, "alice", st.wantCursor, st.wantUnread)
	}
}

func testMarkReadUnknown(t *testing.T, s chat.Store) {
	own := ids(sendN(t, s, roomGeneral, "bob", 2))
	other := ids(sendN(t, s, roomRandom, "bob", 5))
	foreign := other[len(other)-1]
	if slices.Contains(own, foreign) {
		t.Fatalf("test setup: %q is in both rooms", foreign)
	}
	if _, _, _, err := s.MarkRead(t.Context(), roomGeneral, "alice", own[0]); err != nil {
		t.Fatalf("MarkRead(%q): %v", own[0], err)
	}
	tests := []struct {
		name string
		room chat.RoomRef
		id   string
	}{
		{"empty id", roomGeneral, ""},
		{"garbage", roomGeneral, "no-such-message"},
		{"id with a suffix", roomGeneral, own[1] + "0"},
		{"message of another room", roomGeneral, foreign},
		{"same position in another room", roomGeneral, other[0]},
		{"same room name, another namespace", roomChatGeneral, own[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, err := s.MarkRead(t.Context(), tt.room, "alice", tt.id); !errors.Is(err, chat.ErrNotFound) {
				t.Fatalf("MarkRead(%v, %q) error = %v, want ErrNotFound", tt.room, tt.id, err)
			}
			wantReadState(t, s, roomGeneral, "alice", own[0], 1)
		})
	}
}

func testUnreadPerUser(t *testing.T, s chat.Store) {
	bobs := sendN(t, s, roomGeneral, "bob", 3)
	carols := sendN(t, s, roomGeneral, "carol", 2)
	if _, _, _, err := s.MarkRead(t.Context(), roomGeneral, "alice", bobs[2].ID); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	tests := []struct {
		user       string
		wantCursor string
		wantUnread int
	}{
		{"alice", bobs[2].ID, 2},
		{"bob", bobs[2].ID, 2},
		{"carol", carols[1].ID, 0},
		{"dave", "", 5},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			wantReadState(t, s, roomGeneral, tt.user, tt.wantCursor, tt.wantUnread)
			wantReadState(t, s, roomRandom, tt.user, "", 0)
			wantReadState(t, s, roomChatGeneral, tt.user, "", 0)
		})
	}
}

func testConcurrentAppends(t *testing.T, s chat.Store) {
	const writers, each = 20, 25
	rooms := []chat.RoomRef{roomGeneral, roomRandom}
	acked := make([][]string, writers) // acked[w]: ids writer w got, in its order
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			room, author := rooms[w%len(rooms)], fmt.Sprintf("user%d", w)
			for i := range each {
				msg := message(room, author, fmt.Sprintf("%s #%d", author, i))
				stored, _, err := s.Append(t.Context(), room, msg)
				if err != nil {
					errs[w] = err
					return
				}
				acked[w] = append(acked[w], stored.ID)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
	for r, room := range rooms {
		var want []string
		for w := r; w < writers; w += len(rooms) {
			wantIncreasing(t, acked[w])
			want = append(want, acked[w]...)
		}
		got := allIDs(t, s, room)
		wantIncreasing(t, got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("history of %v has ids %q, want the acknowledged %q", room, got, want)
		}
	}
}

func testPing(t *testing.T, s chat.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
