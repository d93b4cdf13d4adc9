package redis_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/iohub/iohub/adapters/redis/redistest"
)

// fetchCount runs fetchSockets on op and returns how many sockets it found.
func fetchCount(t *testing.T, op *socket.BroadcastOperator) int {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	op.FetchSockets()(func(sockets []*socket.RemoteSocket, err error) { done <- result{len(sockets), err} })
	r := <-done
	if r.err != nil {
		t.Fatalf("fetchSockets: %v", r.err)
	}
	return r.n
}

// hasRoom reports whether client c's socket on n is in room.
func hasRoom(n *node, c *wsClient, room socket.Room) bool {
	s, ok := n.io.Of(c.nsp, nil).Sockets().Load(socket.SocketId(c.sid))
	return ok && s.Rooms().Has(room)
}

func TestRequestsAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nodes := startCluster(t, srv, mode, 2)
			a, b := nodes[0], nodes[1]
			onA := dial(t, a.http, "/")
			onB1 := dial(t, b.http, "/")
			onB2 := dial(t, b.http, "/")
			dial(t, b.http, "/chat")
			join(t, b, onB1, "room")

			t.Run("fetchSockets", func(t *testing.T) {
				if n := fetchCount(t, a.io.In()); n != 3 {
					t.Errorf("fetchSockets of / found %d sockets, want 3", n)
				}
				if n := fetchCount(t, a.io.In("room")); n != 1 {
					t.Errorf("fetchSockets of room found %d sockets, want 1", n)
				}
				if n := fetchCount(t, a.io.Of("/chat", nil).In()); n != 1 {
					t.Errorf("fetchSockets of /chat found %d sockets, want 1", n)
				}
			})

			t.Run("serverSideEmit", func(t *testing.T) {
				got := make(chan []any, 1)
				_ = b.io.Of("/", nil).On("hello", func(args ...any) {
					if ack, ok := args[len(args)-1].(socket.Ack); ok {
						ack([]any{"pong"}, nil)
						args = args[:len(args)-1]
					}
					got <- args
				})
				replies := make(chan []any, 1)
				err := a.io.Of("/", nil).ServerSideEmit("hello", "x", socket.Ack(func(r []any, err error) {
					if err != nil {
						t.Errorf("serverSideEmit ack: %v", err)
					}
					replies <- r
				}))
				if err != nil {
					t.Fatalf("ServerSideEmit: %v", err)
				}
				if args := <-got; len(args) != 1 || args[0] != "x" {
					t.Errorf("node b got %v, want [x]", args)
				}
				if r := <-replies; len(r) != 1 {
					t.Errorf("replies %v, want one from node b", r)
				}
			})

			t.Run("socketsJoin and socketsLeave", func(t *testing.T) {
				a.io.In(socket.Room(onB2.sid)).SocketsJoin("joined")
				eventually(t, "remote socket joined", func() bool { return hasRoom(b, onB2, "joined") })
				_ = a.io.To("joined").Emit("msg", "joined")
				onB2.expect(t, "msg")
				a.io.In("joined").SocketsLeave("joined")
				eventually(t, "remote socket left", func() bool { return !hasRoom(b, onB2, "joined") })
			})

			t.Run("broadcast with acks", func(t *testing.T) {
				acks := make(chan []any, 1)
				a.io.Timeout(waitFor).EmitWithAck("ask")(func(replies []any, err error) {
					if err != nil {
						t.Errorf("broadcast with ack: %v", err)
					}
					acks <- replies
				})
				for _, c := range []*wsClient{onA, onB1, onB2} {
					c.expect(t, "ask")
				}
				if got := <-acks; len(got) != 3 {
					t.Errorf("got %d acks %v, want 3 (one per socket on both nodes)", len(got), got)
				}
			})

			t.Run("disconnectSockets", func(t *testing.T) {
				a.io.In("room").DisconnectSockets(true)
				onB1.waitClosed(t)
				a.io.Emit("after")
				onB2.expect(t, "after")
				onA.expect(t, "after")
			})
		})
	}
}

func TestNodeLiveness(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			a := startNode(t, srv.Client(t), mode)
			proxy := redistest.NewProxy(t, srv)
			b := startNode(t, goredis.NewClient(&goredis.Options{Addr: proxy.Addr}), mode)
			c := startNode(t, srv.Client(t), mode)
			for _, n := range []*node{a, b, c} {
				waitServerCount(t, n, "/", 3)
			}

			// A clean shutdown is announced: the others stop counting c at once.
			c.io.Close(nil)
			waitServerCount(t, a, "/", 2)

			// A node cut off from Redis stops its heartbeat: dropped after the timeout.
			proxy.Cut()
			waitServerCount(t, a, "/", 1)
			if n := fetchCount(t, a.io.In()); n != 0 {
				t.Errorf("fetchSockets found %d sockets, want 0", n)
			}
		})
	}
}

func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nodes := startCluster(t, srv, mode, 2)
			a, b := nodes[0], nodes[1]
			onA := dial(t, a.http, "/")
			onB := dial(t, b.http, "/")
			join(t, a, onA, "room")
			join(t, b, onB, "room")

			srv.Stop()
			// Without Redis, local delivery goes on.
			_ = a.io.To("room").Emit("msg", "local while down")
			if got := onA.expect(t, "msg"); got != `"local while down"` {
				t.Errorf("got %s", got)
			}
			srv.Restart(t)

			// Broadcasts published while Redis is down fail: keep sending until one crosses
			// in each direction; then the cluster must be whole again by itself.
			crossing(t, a, onB)
			crossing(t, b, onA)
			for _, n := range nodes {
				waitServerCount(t, n, "/", 2)
			}
			if n := fetchCount(t, a.io.In("room")); n != 2 {
				t.Errorf("fetchSockets after restart found %d, want 2", n)
			}
		})
	}
}

// crossing emits "msg" to client to's socket from node n until to gets one.
func crossing(t *testing.T, n *node, to *wsClient) {
	t.Helper()
	eventually(t, "a broadcast crosses the restarted Redis", func() bool {
		_ = n.io.To(socket.Room(to.sid)).Emit("msg")
		select {
		case ev := <-to.events:
			return ev.Name == "msg"
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
}

// A namespace adapter closed by code running on the subscriber goroutine (here a
// serverSideEmit handler; in the server, a dynamic namespace cleaned up after a remote
// disconnectSockets) must not deadlock the subscriber.
func TestCloseFromHandler(t *testing.T) {
	srv := redistest.Start(t)
	nodes := startCluster(t, srv, modes[0], 2)
	a, b := nodes[0], nodes[1]
	onB := dial(t, b.http, "/")
	closed := make(chan struct{})
	_ = b.io.Of("/chat", nil).On("close-me", func(...any) {
		b.io.Of("/chat", nil).Adapter().Close()
		close(closed)
	})
	if err := a.io.Of("/chat", nil).ServerSideEmit("close-me"); err != nil {
		t.Fatal(err)
	}
	<-closed
	waitServerCount(t, a, "/chat", 1)
	a.io.Emit("msg", "still subscribed")
	if got := onB.expect(t, "msg"); got != `"still subscribed"` {
		t.Errorf("got %s", got)
	}
}

// TestRedisRestartNoLoss sends as the chat server does: a message is broadcast only
// after a Redis write for it succeeded (the store's Append), and every such message must
// reach the other node, also when it is sent while that node's subscriber is still
// reconnecting after a Redis restart.
func TestRedisRestartNoLoss(t *testing.T) {
	srv := redistest.Start(t, redistest.AppendOnly) // acked means stored, as with the store
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nodes := startCluster(t, srv, mode, 2)
			a, b := nodes[0], nodes[1]
			onB := dial(t, b.http, "/")
			join(t, b, onB, "room")
			store := goredis.NewClient(&goredis.Options{Addr: srv.Addr, MaxRetries: -1})
			t.Cleanup(func() { _ = store.Close() })

			acked := map[int]bool{}
			send := func(i int) {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				if store.Incr(ctx, "appends").Err() == nil {
					acked[i] = true
					_ = a.io.To("room").Emit("msg", i)
				}
			}
			i := 0
			for ; len(acked) < 10; i++ {
				send(i)
			}
			srv.Restart(t)
			for after := len(acked); len(acked) < after+50; i++ {
				send(i)
				time.Sleep(2 * time.Millisecond) // a sender's pace, not a wait for a condition
			}

			got := map[int]bool{}
			missing := func() []int {
				var out []int
				for n := range acked {
					if !got[n] {
						out = append(out, n)
					}
				}
				slices.Sort(out)
				return out
			}
			deadline := time.After(waitFor)
			for len(missing()) > 0 {
				select {
				case ev := <-onB.events:
					var n int
					_ = json.Unmarshal(ev.Args[0], &n)
					got[n] = true
				case <-deadline:
					t.Fatalf("acked messages %v (of %d, last %d) never reached the other node", missing(), len(acked), i-1)
				}
			}
		})
	}
}
