// Package adapters picks the backends a node runs on: the message store, presence and the
// Socket.IO adapter. Implementations live side by side in memory/, bolt/ and redis/.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/iohub/iohub/adapters/bolt"
	"github.com/iohub/iohub/adapters/memory"
	"github.com/iohub/iohub/adapters/redis"
	"github.com/iohub/iohub/config"
	"github.com/iohub/iohub/server/chat"
)

// Backends are what Open chose and opened.
type Backends struct {
	Store    chat.Store
	Presence chat.Presence
	// Adapter is the Socket.IO adapter; nil means the library's in-memory one.
	Adapter socket.AdapterConstructor
	// Checks are run by /readyz, each named by what it checks.
	Checks map[string]func(context.Context) error
	// OnUserGone and OnUserBack, when set, let cluster presence report users whose node
	// died, and users present again after this node's presence was restored.
	OnUserGone func(func(chat.RoomRef, chat.User))
	OnUserBack func(func(chat.RoomRef, chat.User))
	closers    []func() error
}

// Close releases every backend, most recently opened first.
func (b *Backends) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

// Open opens the backends cfg names: with redis.url set, the Redis cluster adapter and
// presence shared by every node; the store by store.driver. ctx bounds the start-up checks.
func Open(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (*Backends, error) {
	b := &Backends{Checks: map[string]func(context.Context) error{}}
	if err := b.open(ctx, cfg, reg, log); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return b, nil
}

func (b *Backends) open(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger) error {
	var client *goredis.Client
	if cfg.Redis.URL != "" {
		var err error
		if client, err = b.openCluster(ctx, cfg, reg, log); err != nil {
			return err
		}
	} else {
		b.Presence = memory.NewPresence()
	}
	return b.openStore(cfg, client)
}

// openCluster connects to Redis and opens the cluster adapter and presence on it.
func (b *Backends) openCluster(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (*goredis.Client, error) {
	opts, err := goredis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	client := goredis.NewClient(opts)
	b.closers = append(b.closers, client.Close)
	b.Checks["redis"] = func(ctx context.Context) error { return client.Ping(ctx).Err() }
	adapter, err := redis.NewAdapter(ctx, client, redis.AdapterOptions{
		KeyPrefix: cfg.Redis.KeyPrefix, Sharded: cfg.Redis.Sharded, Logger: log, Registerer: reg,
	})
	if err != nil {
		return nil, fmt.Errorf("redis adapter (redis.url): %w", err)
	}
	b.closers = append(b.closers, adapter.Close)
	b.Adapter = adapter
	presence, err := redis.NewPresence(ctx, client, redis.PresenceOptions{KeyPrefix: cfg.Redis.KeyPrefix, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("redis presence: %w", err)
	}
	b.closers = append(b.closers, presence.Close)
	b.Presence = presence
	b.OnUserGone = presence.OnUserGone
	b.OnUserBack = presence.OnUserBack
	return client, nil
}

// openStore opens the message store of store.driver (redis needs the cluster's client).
func (b *Backends) openStore(cfg config.Config, client *goredis.Client) error {
	switch cfg.Store.Driver {
	case "memory":
		b.Store = memory.NewStore()
	case "bolt":
		st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
		if err != nil {
			return fmt.Errorf("store.driver=bolt: %w", err)
		}
		b.Store = st
	case "redis":
		if client == nil {
			return errors.New("store.driver=redis needs redis.url")
		}
		b.Store = redis.NewStore(client, redis.StoreOptions{KeyPrefix: cfg.Redis.KeyPrefix})
	default:
		return fmt.Errorf("store.driver: %q is not available", cfg.Store.Driver)
	}
	b.closers = append(b.closers, b.Store.Close)
	b.Checks["store"] = b.Store.Ping
	return nil
}
