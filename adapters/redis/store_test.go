package redis_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iohub/iohub/adapters/redis"
	"github.com/iohub/iohub/adapters/redis/redistest"
	"github.com/iohub/iohub/server/chat"
	"github.com/iohub/iohub/server/chat/chattest"
)

func TestStore(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	var n atomic.Int64
	chattest.TestStore(t, func(t *testing.T) chat.Store {
		// A fresh prefix per test is a fresh, empty store on the same server.
		return redis.NewStore(client, redis.StoreOptions{KeyPrefix: fmt.Sprintf("store%d", n.Add(1))})
	})
}

// benchOpen returns fresh Redis stores (one prefix each) on one server for a benchmark.
func benchOpen(b *testing.B) func(b *testing.B) chat.Store {
	srv := redistest.Start(b)
	client := srv.Client(b)
	var n atomic.Int64
	return func(*testing.B) chat.Store {
		return redis.NewStore(client, redis.StoreOptions{KeyPrefix: fmt.Sprintf("bench%d", n.Add(1))})
	}
}

func BenchmarkAppend(b *testing.B) { chattest.BenchmarkAppend(b, benchOpen(b)) }

func BenchmarkHistory(b *testing.B) { chattest.BenchmarkHistory(b, benchOpen(b)) }

func TestStoreDedupTTL(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	s := redis.NewStore(client, redis.StoreOptions{KeyPrefix: "ttl", DedupTTL: time.Hour})
	room := chat.RoomRef{Namespace: "/", Room: "general"}
	cid := "c1"
	if _, _, err := s.Append(t.Context(), room, chat.Message{UserID: "alice", Content: "x", ClientMessageID: &cid}); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(t.Context(), "ttl:*dedup*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("dedup keys %q, %v; want one", keys, err)
	}
	ttl, err := client.TTL(t.Context(), keys[0]).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("dedup key TTL %v, %v; want within (0, 1h]", ttl, err)
	}
}

func TestStoreFailsWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	s := redis.NewStore(srv.Client(t), redis.StoreOptions{})
	room := chat.RoomRef{Namespace: "/", Room: "general"}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.Append(canceled, room, chat.Message{UserID: "alice", Content: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: %v, want context.Canceled", err)
	}
	srv.Stop()
	if _, _, err := s.Append(t.Context(), room, chat.Message{UserID: "alice", Content: "x"}); err == nil {
		t.Error("Append succeeded without Redis")
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded without Redis")
	}
}
