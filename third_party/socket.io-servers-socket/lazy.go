package socket

import (
	"sync/atomic"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// lazy is a value made on first use; its zero value holds none.
//
// iohub patch: a socket's ack map and its two "any" listener lists were made with every
// socket; most sockets never wait for a client's ack or get an "any" listener, and each
// empty map or list was 48 bytes of every connection.
type lazy[T any] struct {
	p atomic.Pointer[T]
}

// get is the value, made (zero) if there is none yet.
func (l *lazy[T]) get() *T {
	if v := l.p.Load(); v != nil {
		return v
	}
	l.p.CompareAndSwap(nil, new(T))
	return l.p.Load()
}

// loaded is the value, nil if nothing made it yet.
func (l *lazy[T]) loaded() *T {
	return l.p.Load()
}

// listenersOf is a copy of the listeners of l, nil when l was never made.
func listenersOf(l *types.Slice[types.EventListener]) []types.EventListener {
	if l == nil {
		return nil
	}
	return l.All()
}
