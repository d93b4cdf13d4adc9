package chat

import (
	"context"
	"errors"
	"testing"
	"time"
)

type stubConn string

func (c stubConn) ID() string { return string(c) }
func (stubConn) Join(string)  {}
func (stubConn) Leave(string) {}

// TestSendLimiterAcquiredOnFirstSend holds the per-user send limiter: a session that never
// sends holds none, a user's sessions share one once they send, and it outlives the last
// session that holds it until it would have refilled (TestSendLimitSurvivesReconnect).
func TestSendLimiterAcquiredOnFirstSend(t *testing.T) {
	svc := NewService(nil, nil, nil, Options{MaxMessageLength: 100, MessagesPerSecond: 0.001, MessageBurst: 1, RoomUsersInterval: time.Hour})
	defer svc.Close()
	clock := time.Now()
	svc.limits.now = func() time.Time { return clock }
	who := Principal{User: User{UserID: "u1"}}
	a, b, idle := svc.Open("/", stubConn("a"), who), svc.Open("/", stubConn("b"), who), svc.Open("/", stubConn("c"), who)
	if n := len(svc.limits.users); n != 0 {
		t.Fatalf("%d limiters held before any send", n)
	}
	req := SendRequest{RoomID: "r", Content: "hi"}
	for _, ss := range []*Session{a, b} {
		ss.rooms.set("r", false)
	}
	if _, _, err := a.prepare(req); err != nil {
		t.Fatalf("first send: %v", err)
	}
	var limited *Error
	if _, _, err := b.prepare(req); !errors.As(err, &limited) || limited.Code != CodeRateLimited {
		t.Fatalf("second socket's send within the user's burst of 1: %v, want rate_limited", err)
	}
	ctx := context.Background()
	for _, ss := range []*Session{a, b, idle} {
		ss.rooms = nil // no presence in this test
		ss.Close(ctx)
	}
	if u := svc.limits.users["u1"]; u == nil || u.refs != 0 {
		t.Fatalf("after every session closed: limiter %+v, want kept with no holder", u)
	}
	clock = clock.Add(svc.limits.refill) // 1 000 s: a burst of 1 at 0.001/s
	svc.limits.acquire("u2")             // acquire (and release) prune what is due
	if u := svc.limits.users["u1"]; u != nil {
		t.Fatalf("limiter kept %v after its last session closed, past its refill time", svc.limits.refill)
	}
}

// TestSendLimitSurvivesReconnect checks that a user who spent their burst and closed their
// only socket is still limited on a new socket: the limit is per user, not per connection.
func TestSendLimitSurvivesReconnect(t *testing.T) {
	svc := NewService(nil, nil, nil, Options{MaxMessageLength: 100, MessagesPerSecond: 0.001, MessageBurst: 2, RoomUsersInterval: time.Hour})
	defer svc.Close()
	who := Principal{User: User{UserID: "u1"}}
	req := SendRequest{RoomID: "r", Content: "hi"}
	first := svc.Open("/", stubConn("a"), who)
	first.rooms.set("r", false)
	for i := range 2 {
		if _, _, err := first.prepare(req); err != nil {
			t.Fatalf("send %d within the burst: %v", i, err)
		}
	}
	first.rooms = nil // no presence in this test
	first.Close(context.Background())
	again := svc.Open("/", stubConn("b"), who)
	again.rooms.set("r", false)
	var limited *Error
	if _, _, err := again.prepare(req); !errors.As(err, &limited) || limited.Code != CodeRateLimited {
		t.Fatalf("first send after reconnecting with the burst spent: %v, want rate_limited", err)
	}
}
