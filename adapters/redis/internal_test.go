package redis

import (
	"testing"
	"time"

	"github.com/iohub/iohub/server/chat"
)

func TestStreamIDLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "1-0", true},
		{"1-0", "", false},
		{"", "", false},
		{"9-5", "10-0", true},
		{"10-0", "9-5", false},
		{"10-2", "10-10", true},
		{"10-10", "10-10", false},
	}
	for _, tt := range tests {
		if got := streamIDLess(tt.a, tt.b); got != tt.want {
			t.Errorf("streamIDLess(%q, %q) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestHashWindow(t *testing.T) {
	w := newHashWindow(time.Second)
	t0 := time.Unix(100, 0)
	w.add(1, t0)
	w.add(2, t0.Add(900*time.Millisecond))
	w.add(1, t0.Add(950*time.Millisecond)) // seen again: kept from its latest time
	w.add(3, t0.Add(1500*time.Millisecond))
	for h, want := range map[uint64]bool{1: true, 2: true, 3: true, 4: false} {
		if got := w.take(h); got != want {
			t.Errorf("take(%d) = %t, want %t", h, got, want)
		}
	}
	w.add(5, t0)
	w.add(6, t0.Add(3*time.Second))
	if w.take(5) {
		t.Error("hash older than the ttl still in the window")
	}
}

func TestRoomIDRoundTrip(t *testing.T) {
	for _, room := range []chat.RoomRef{
		{Namespace: "/", Room: "general"},
		{Namespace: "/a:b", Room: "c"},
		{Namespace: "/a", Room: "b:c"},
		{Namespace: "", Room: ""},
	} {
		got, ok := parseRoomID(roomID(room))
		if !ok || got != room {
			t.Errorf("parseRoomID(roomID(%+v)) = %+v, %t", room, got, ok)
		}
	}
	for _, bad := range []string{"", "x", "3:/a", "-1:/", "2:/ab"} {
		if _, ok := parseRoomID(bad); ok {
			t.Errorf("parseRoomID(%q) accepted", bad)
		}
	}
}

func TestGlobEscape(t *testing.T) {
	if got, want := globEscape(`p#/t-[x]*?\^#`), `p#/t-\[x\]\*\?\\\^#`; got != want {
		t.Errorf("globEscape = %q, want %q", got, want)
	}
}

func TestRedisVersion(t *testing.T) {
	info := "# Server\r\nredis_mode:standalone\r\nredis_version:7.0.15\r\n"
	if got := redisVersion(info); got != "7.0.15" {
		t.Errorf("redisVersion = %q", got)
	}
}
