package scenario

import "testing"

func TestParseContent(t *testing.T) {
	args := []byte(`["new_message",{"id":"0001","roomId":"fan-0","content":"3:1732400000000000123","replyTo":null}]`)
	slot, ts, ok := parseContent(args)
	if !ok || slot != 3 || ts != 1732400000000000123 {
		t.Errorf("parseContent = %d, %d, %v", slot, ts, ok)
	}
	if _, _, ok := parseContent([]byte(`["new_message",{"content":"hello"}]`)); ok {
		t.Error("content without a timestamp accepted")
	}
}

func TestRoomUsersCount(t *testing.T) {
	args := []byte(`["room_users",{"roomId":"storm","users":[{"userId":"j1","userName":"count"}],"count":500}]`)
	if n := roomUsersCount(args); n != 500 {
		t.Errorf("roomUsersCount = %d", n)
	}
	if n := roomUsersCount([]byte(`["room_users",{}]`)); n != -1 {
		t.Errorf("roomUsersCount without count = %d", n)
	}
}
