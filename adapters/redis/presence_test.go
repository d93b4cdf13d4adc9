package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/iohub/iohub/adapters/redis"
	"github.com/iohub/iohub/adapters/redis/redistest"
	"github.com/iohub/iohub/server/chat"
	"github.com/iohub/iohub/server/chat/chattest"
)

// openPresence starts a Presence (a node) with a short NodeTTL, closed when the test ends.
func openPresence(t *testing.T, client goredis.UniversalClient, prefix string) *redis.Presence {
	t.Helper()
	p, err := redis.NewPresence(t.Context(), client, redis.PresenceOptions{KeyPrefix: prefix, NodeTTL: time.Second, Logger: quietLog})
	if err != nil {
		t.Fatalf("NewPresence: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestPresence(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	var n atomic.Int64
	chattest.TestPresence(t, func(t *testing.T) chat.Presence {
		return openPresence(t, client, fmt.Sprintf("presence%d", n.Add(1)))
	})
}

// goneEvent is one OnUserGone report.
type goneEvent struct {
	room chat.RoomRef
	user chat.User
}

func TestPresenceDeadNodePurged(t *testing.T) {
	srv := redistest.Start(t)
	survivor := openPresence(t, srv.Client(t), "dead")
	proxy := redistest.NewProxy(t, srv)
	doomed := openPresence(t, goredis.NewClient(&goredis.Options{Addr: proxy.Addr, MaxRetries: -1}), "dead")
	gone := make(chan goneEvent, 10)
	survivor.OnUserGone(func(room chat.RoomRef, user chat.User) { gone <- goneEvent{room, user} })

	room := chat.RoomRef{Namespace: "/", Room: "general"}
	ctx := t.Context()
	for _, s := range []struct {
		p    *redis.Presence
		user string
		sid  string
	}{{doomed, "alice", "a1"}, {doomed, "bob", "b1"}, {survivor, "alice", "a2"}} {
		if _, err := s.p.Add(ctx, room, chat.User{UserID: s.user, UserName: "Name of " + s.user}, s.sid); err != nil {
			t.Fatal(err)
		}
	}

	proxy.Cut() // the doomed node stops heartbeating and never cleans up
	cut := time.Now()
	select {
	case ev := <-gone:
		want := goneEvent{room, chat.User{UserID: "bob", UserName: "Name of bob"}}
		if ev != want {
			t.Fatalf("reported %+v, want %+v", ev, want)
		}
		t.Logf("dead node's user reported gone %v after its last heartbeat could be sent (NodeTTL 1s)", time.Since(cut).Round(10*time.Millisecond))
	case <-time.After(waitFor):
		t.Fatal("the dead node's users were never reported gone")
	}
	users, count, err := survivor.Users(ctx, room, 10)
	if err != nil || count != 1 || users[0].UserID != "alice" {
		t.Fatalf("Users after purge = %+v, %d, %v; want alice only", users, count, err)
	}
	if last, err := survivor.Remove(ctx, room, "alice", "a2"); err != nil || !last {
		t.Fatalf("Remove of alice's surviving socket = %t, %v; want her last", last, err)
	}
}

func TestPresenceSurvivesRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	p := openPresence(t, srv.Client(t), "restart")
	room := chat.RoomRef{Namespace: "/", Room: "general"}
	back := make(chan goneEvent, 10)
	p.OnUserBack(func(room chat.RoomRef, user chat.User) { back <- goneEvent{room, user} })
	alice := chat.User{UserID: "alice", UserName: "A"}
	if _, err := p.Add(t.Context(), room, alice, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(t.Context(), room, alice, "s2"); err != nil {
		t.Fatal(err)
	}
	srv.Restart(t) // empty: presence lost, until the node notices and adds its sockets again
	eventually(t, "presence restored", func() bool {
		_, count, err := p.Users(context.Background(), room, 10)
		return err == nil && count == 1
	})
	select {
	case ev := <-back:
		if want := (goneEvent{room, alice}); ev != want {
			t.Fatalf("reported back %+v, want %+v", ev, want)
		}
	case <-time.After(waitFor):
		t.Fatal("the restored user was never reported back")
	}
	select {
	case ev := <-back: // alice has two sockets: she is back once
		t.Fatalf("reported back twice: %+v", ev)
	default:
	}
}
