// Package adapters picks the backends a node runs on: the message store, presence and the
// Socket.IO adapter. Implementations live side by side in memory/, bolt/ and redis/.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/iohub/iohub/adapters/bolt"
	"github.com/iohub/iohub/adapters/memory"
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
	// OnUserGone, when set, lets cluster presence report users whose node died.
	OnUserGone func(func(chat.RoomRef, chat.User))
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

// Open opens the backends cfg names. ctx owns their background work.
func Open(ctx context.Context, cfg config.Config, reg prometheus.Registerer, log *slog.Logger) (*Backends, error) {
	b := &Backends{Checks: map[string]func(context.Context) error{}}
	switch cfg.Store.Driver {
	case "memory":
		b.Store = memory.NewStore()
	case "bolt":
		st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
		if err != nil {
			return nil, fmt.Errorf("store.driver=bolt: %w", err)
		}
		b.Store = st
	default:
		return nil, fmt.Errorf("store.driver: %q is not available", cfg.Store.Driver)
	}
	b.closers = append(b.closers, b.Store.Close)
	b.Checks["store"] = b.Store.Ping
	b.Presence = memory.NewPresence()
	return b, nil
}
