package redis_test

import (
	"context"
	"log"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/iohub/iohub/adapters/redis"
	"github.com/iohub/iohub/server/chat"
)

// Wiring the three Redis backends of one node; config keys redis.url, redis.key_prefix
// and redis.sharded supply the values.
func Example() {
	ctx := context.Background()
	opts, err := goredis.ParseURL("redis://127.0.0.1:6379")
	if err != nil {
		log.Fatal(err)
	}
	client := goredis.NewClient(opts)
	defer func() { _ = client.Close() }() // last: the backends below share it

	adapter, err := redis.NewAdapter(ctx, client, redis.AdapterOptions{
		KeyPrefix:  "iohub",
		Sharded:    false,
		Logger:     slog.Default(),
		Registerer: prometheus.DefaultRegisterer,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = adapter.Close() }() // after the Socket.IO server is closed

	store := redis.NewStore(client, redis.StoreOptions{KeyPrefix: "iohub"})
	defer func() { _ = store.Close() }()

	presence, err := redis.NewPresence(ctx, client, redis.PresenceOptions{KeyPrefix: "iohub"})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = presence.Close() }()
	presence.OnUserGone(func(room chat.RoomRef, user chat.User) {
		// announce user_left to the room: the user's node died
	})

	sio := socket.DefaultServerOptions()
	sio.SetAdapter(adapter)
	io := socket.NewServer(nil, sio)
	defer io.Close(nil)
}
