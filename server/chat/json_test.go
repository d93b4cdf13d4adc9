package chat

import (
	"encoding/json"
	"testing"
)

func FuzzAppendJSONMatchesMarshal(f *testing.F) {
	f.Add("00000000000000000001-abcdefgh", "general", "u1", "Ann <admin>", "hi & \"bye\"\n", "r", "c", true, false)
	f.Add("", "", "", "", "\xff\u2028", "", "", false, true)
	f.Fuzz(func(t *testing.T, id, room, user, name, content, replyTo, clientID string, hasReply, hasClient bool) {
		m := Message{ID: id, RoomID: room, UserID: user, UserName: name, Content: content, Timestamp: "2026-11-24T05:01:02.123Z"}
		if hasReply {
			m.ReplyTo = &replyTo
		}
		if hasClient {
			m.ClientMessageID = &clientID
		}
		checkJSON(t, m.AppendJSON(nil), "", m)
		r := SendReply{Success: hasReply, Message: m, SavedID: id}
		checkJSON(t, r.AppendJSON([]byte("[")), "[", r)
	})
}

// checkJSON fails unless got is prefix followed by json.Marshal(v).
func checkJSON(t *testing.T, got []byte, prefix string, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != prefix+string(want) {
		t.Fatalf("got  %s\nwant %s%s", got, prefix, want)
	}
}
