package socket

import (
	"slices"
	"sync"
)

// clientSockets are the sockets of one client, one per namespace it joined.
//
// iohub patch: upstream kept them in two sync.Map-style maps (by id and by namespace name)
// per client, ~600 bytes per connection for the one socket a client usually has; a locked
// slice finds that socket as fast.
type clientSockets struct {
	mu      sync.RWMutex
	sockets []*Socket
}

// add registers s; it replaces a socket of the same namespace, as upstream's by-name map did.
func (c *clientSockets) add(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := s.Nsp().Name()
	c.sockets = slices.DeleteFunc(c.sockets, func(o *Socket) bool { return o.Nsp().Name() == name })
	c.sockets = append(c.sockets, s)
}

// byNamespace is the socket of the namespace named name.
func (c *clientSockets) byNamespace(name string) (*Socket, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.sockets {
		if s.Nsp().Name() == name {
			return s, true
		}
	}
	return nil, false
}

// remove unregisters the socket with id; it reports whether it was there.
func (c *clientSockets) remove(id SocketId) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.sockets)
	c.sockets = slices.DeleteFunc(c.sockets, func(s *Socket) bool { return s.Id() == id })
	return len(c.sockets) < n
}

// all is a copy of the sockets, to call them without holding the lock.
func (c *clientSockets) all() []*Socket {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.sockets)
}

// clear unregisters every socket.
func (c *clientSockets) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sockets = nil
}

// len is the number of sockets.
func (c *clientSockets) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.sockets)
}
