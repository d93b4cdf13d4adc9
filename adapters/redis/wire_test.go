package redis_test

import (
	"context"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/zishang520/socket.io/adapters/adapter/v3"

	"github.com/iohub/iohub/adapters/redis/redistest"
)

// publishRaw publishes payload as another program would: SPUBLISH when sharded.
func publishRaw(t *testing.T, srv *redistest.Server, sharded bool, channel string, payload []byte) {
	t.Helper()
	rc := srv.Client(t)
	var err error
	if sharded {
		err = rc.SPublish(context.Background(), channel, payload).Err()
	} else {
		err = rc.Publish(context.Background(), channel, payload).Err()
	}
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// emitterMessage is what @socket.io/redis-emitter publishes for emit(ev, arg) to rooms.
func emitterMessage(t *testing.T, rooms []string, ev, arg string) []byte {
	t.Helper()
	b, err := msgpack.Marshal([]any{
		"emitter",
		map[string]any{"type": 2, "data": []any{ev, arg}, "nsp": "/"},
		map[string]any{"rooms": rooms, "except": []string{}, "flags": map[string]any{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEmitterFormat(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			n := startCluster(t, srv, mode, 1)[0]
			inRoom := dial(t, n.http, "/")
			outside := dial(t, n.http, "/")
			join(t, n, inRoom, "room")

			publishRaw(t, srv, false, "test#/#room#", emitterMessage(t, []string{"room"}, "msg", "to room"))
			publishRaw(t, srv, false, "test#/#", emitterMessage(t, nil, "msg", "to all"))
			if got := inRoom.expect(t, "msg"); got != `"to room"` {
				t.Errorf("room member got %s first", got)
			}
			for _, c := range []*wsClient{inRoom, outside} {
				if got := c.expect(t, "msg"); got != `"to all"` {
					t.Errorf("got %s, want the emit to all", got)
				}
			}
			if n.io.Of("/", nil).Adapter().ServerCount() != 1 {
				t.Error("the emitter counts as a node")
			}
		})
	}
}

func TestMalformedMessagesAreDropped(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			nodes := startCluster(t, srv, mode, 2)
			a, b := nodes[0], nodes[1]
			onB := dial(t, b.http, "/")
			main := "test-cluster#/#"
			if mode.sharded {
				main = "test#/#"
			}
			uid := b.io.Of("/", nil).Adapter().(interface{ Uid() adapter.ServerId }).Uid()
			cluster := []string{
				``, `{`, `not json`, "\x81\xa3uid",
				`{"nsp":"/","type":2}`,
				`{"uid":"x","nsp":"/","type":99}`,
				`{"uid":"x","nsp":"/","type":3}`,
				`{"uid":"x","nsp":"/","type":3,"data":{"packet":null}}`,
				`{"uid":"x","nsp":"/","type":3,"data":{"packet":{"type":0,"nsp":"/","data":["x"]}}}`,
				`{"uid":"x","nsp":"/","type":3,"data":{"packet":{"type":2,"nsp":"/","data":"x"}}}`,
				`{"uid":"x","nsp":"/","type":3,"data":{"packet":{"type":2,"nsp":"/","data":[]}}}`,
				`{"uid":"x","nsp":"/","type":4,"data":{"rooms":"x"}}`,
				`{"uid":"x","nsp":"/","type":9,"data":{"packet":[]}}`,
			}
			for _, p := range cluster {
				publishRaw(t, srv, mode.sharded, main, []byte(p))
			}
			responses := []string{
				`{"uid":"x","nsp":"/","type":8,"data":{"requestId":"r","sockets":[null]}}`,
				`{"uid":"x","nsp":"/","type":8,"data":{"requestId":"r","sockets":[{"id":"s"}]}}`,
			}
			for _, p := range responses {
				publishRaw(t, srv, mode.sharded, main+string(uid)+"#", []byte(p))
			}
			classic := []string{"\x93\x01", "{}", "\x93\xa1x\xc0\xc0", "\x93\xa1x\x81\xa4type\x02\xc0"}
			for _, p := range classic {
				publishRaw(t, srv, false, "test#/#", []byte(p))
			}

			want := float64(len(cluster) + len(responses) + len(classic))
			eventually(t, "every malformed message is counted", func() bool {
				return counter(t, b, "iohub_redis_adapter_messages_invalid_total") == want
			})
			a.io.Emit("msg", "still works")
			if got := onB.expect(t, "msg"); got != `"still works"` {
				t.Errorf("got %s", got)
			}
		})
	}
}
