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
// sends holds none, a user's sessions share one once they send, and it goes with the last
// session that holds it.
func TestSendLimiterAcquiredOnFirstSend(t *testing.T) {
	svc := NewService(nil, nil, nil, Options{MaxMessageLength: 100, MessagesPerSecond: 0.001, MessageBurst: 1, RoomUsersInterval: time.Hour})
	defer svc.Close()
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
	if u := svc.limits.users["u1"]; u != nil {
		t.Fatalf("limiter still held after every session closed (refs %d)", u.refs)
	}
}
