package redis_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/iohub/iohub/adapters/redis"
	"github.com/iohub/iohub/adapters/redis/redistest"
)

// node is one Socket.IO server with the Redis adapter, on its own listener.
type node struct {
	io      *socket.Server
	adapter *redis.Adapter
	http    *httptest.Server
	reg     *prometheus.Registry
}

// quietLog shows only errors: the tests take Redis away on purpose.
var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// mode is an adapter configuration the cluster tests run in.
type mode struct {
	name         string
	sharded      bool
	roomChannels bool
	node         string // the Node adapter mode that shares rooms with it (test/interop/peer.mjs)
}

// modes are the adapter configurations every cluster test runs in.
var modes = []mode{
	{name: "classic", node: "classic"},
	{name: "sharded", sharded: true, node: "sharded"},
	{name: "sharded-room-channels", sharded: true, roomChannels: true, node: "sharded-dynamic"},
}

// testOptions are short heartbeats so that node liveness tests finish quickly.
func testOptions(m mode, reg prometheus.Registerer) redis.AdapterOptions {
	return redis.AdapterOptions{
		KeyPrefix:         "test",
		Sharded:           m.sharded,
		RoomChannels:      m.roomChannels,
		HeartbeatInterval: 200 * time.Millisecond,
		HeartbeatTimeout:  1 * time.Second,
		Logger:            quietLog,
		Registerer:        reg,
	}
}

// startNode starts a Socket.IO server on Redis client rc with namespaces "/" and "/chat".
func startNode(t *testing.T, rc *goredis.Client, m mode) *node {
	t.Helper()
	reg := prometheus.NewRegistry()
	ad, err := redis.NewAdapter(context.Background(), rc, testOptions(m, reg))
	if err != nil {
		t.Fatalf("NewAdapter: %v", err)
	}
	opts := socket.DefaultServerOptions()
	opts.SetAdapter(ad)
	io := socket.NewServer(nil, opts)
	io.Of("/chat", nil)
	n := &node{io: io, adapter: ad, http: httptest.NewServer(io.ServeHandler(nil)), reg: reg}
	t.Cleanup(func() {
		io.Close(nil)
		if err := ad.Close(); err != nil {
			t.Errorf("adapter Close: %v", err)
		}
		n.http.Close()
	})
	return n
}

// startCluster starts n nodes on one Redis and waits until each counts all of them.
func startCluster(t *testing.T, srv *redistest.Server, m mode, count int) []*node {
	t.Helper()
	nodes := make([]*node, count)
	for i := range nodes {
		nodes[i] = startNode(t, srv.Client(t), m)
	}
	for _, n := range nodes {
		waitServerCount(t, n, "/", count)
		waitServerCount(t, n, "/chat", count)
	}
	return nodes
}

// waitServerCount waits until namespace nsp of n counts want nodes.
func waitServerCount(t *testing.T, n *node, nsp string, want int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s counts %d nodes", nsp, want), func() bool {
		return n.io.Of(nsp, nil).Adapter().ServerCount() == int64(want)
	})
}

// eventually polls cond until it holds; the test fails after waitFor.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// join puts client c's server-side socket on n into rooms.
func join(t *testing.T, n *node, c *wsClient, rooms ...socket.Room) {
	t.Helper()
	s, ok := n.io.Of(c.nsp, nil).Sockets().Load(socket.SocketId(c.sid))
	if !ok {
		t.Fatalf("socket %s not on this node", c.sid)
	}
	s.Join(rooms...)
}

// counter reads a counter (the sum over its labels) from a node's registry.
func counter(t *testing.T, n *node, name string) float64 {
	t.Helper()
	families, err := n.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

func TestBroadcastAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nodes := startCluster(t, srv, mode, 2)
			a, b := nodes[0], nodes[1]
			onA := dial(t, a.http, "/")
			inRoom := dial(t, b.http, "/")
			outside := dial(t, b.http, "/")
			join(t, a, onA, "room")
			join(t, b, inRoom, "room")

			steps := []struct {
				name string
				emit func()
				got  map[*wsClient]string // event each client gets; absent: none
			}{
				{"room broadcast", func() { _ = a.io.To("room").Emit("msg", "room") },
					map[*wsClient]string{onA: `"room"`, inRoom: `"room"`}},
				{"except", func() { _ = a.io.To("room").Except(socket.Room(onA.sid)).Emit("msg", "except") },
					map[*wsClient]string{inRoom: `"except"`}},
				{"socket id room on other node", func() { _ = a.io.To(socket.Room(outside.sid)).Emit("msg", "private") },
					map[*wsClient]string{outside: `"private"`}},
				{"two rooms", func() { _ = a.io.To("room", socket.Room(outside.sid)).Emit("msg", "two") },
					map[*wsClient]string{onA: `"two"`, inRoom: `"two"`, outside: `"two"`}},
				{"namespace-wide", func() { a.io.Emit("msg", "all") },
					map[*wsClient]string{onA: `"all"`, inRoom: `"all"`, outside: `"all"`}},
				{"local flag", func() { _ = a.io.Local().Emit("msg", "local") },
					map[*wsClient]string{onA: `"local"`}},
				{"volatile", func() { _ = a.io.Volatile().To("room").Emit("msg", "volatile") },
					map[*wsClient]string{onA: `"volatile"`, inRoom: `"volatile"`}},
				{"from the other node", func() { _ = b.io.Except("room").Emit("msg", "from b") },
					map[*wsClient]string{outside: `"from b"`}},
				{"binary", func() { _ = a.io.To("room").Emit("msg", []byte{1, 2}) },
					map[*wsClient]string{onA: "", inRoom: ""}},
			}
			for _, step := range steps {
				mayDrop := step.name == "volatile" // a volatile event may be dropped, never misrouted
				step.emit()
				// A marker to everyone follows each step: a client that should get nothing
				// must see the marker next, as messages from one node arrive in order.
				a.io.Emit("marker")
				for _, c := range []*wsClient{onA, inRoom, outside} {
					ev := c.next(t)
					if want, ok := step.got[c]; ok && (ev.Name != "marker" || !mayDrop) {
						if ev.Name != "msg" {
							t.Fatalf("%s: client %s got %q %s, want msg", step.name, c.sid, ev.Name, ev.Args)
						}
						if got := argText(ev); want != "" && got != want {
							t.Errorf("%s: client got %s, want %s", step.name, got, want)
						}
						ev = c.next(t)
					}
					if ev.Name != "marker" {
						t.Errorf("%s: client got %q %s, want nothing", step.name, ev.Name, ev.Args)
					}
				}
			}
			if counter(t, a, "iohub_redis_adapter_messages_published_total") == 0 ||
				counter(t, b, "iohub_redis_adapter_messages_received_total") == 0 {
				t.Error("published/received counters did not move")
			}
		})
	}
}
