package chat

import (
	"sync"
	"time"
)

// roomUsersCoalescer sends room_users per room: the first change after a quiet period at
// once, later changes within the interval folded into one trailing send (which reads the
// list when it fires, so it carries the latest one, and is skipped when that list is the
// one sent last).
type roomUsersCoalescer struct {
	interval time.Duration
	// send sends the room's list unless its fingerprint equals last (0: nothing sent yet)
	// and returns the fingerprint of the current list.
	send func(ref RoomRef, last uint64) uint64

	mu     sync.Mutex
	rooms  map[RoomRef]*coalesced
	closed bool
}

type coalesced struct {
	timer *time.Timer
	dirty bool
	last  uint64 // fingerprint of the list sent last
}

func newRoomUsersCoalescer(interval time.Duration, send func(RoomRef, uint64) uint64) *roomUsersCoalescer {
	return &roomUsersCoalescer{interval: interval, send: send, rooms: make(map[RoomRef]*coalesced)}
}

// changed records that the room's user list changed.
func (c *roomUsersCoalescer) changed(ref RoomRef) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if st := c.rooms[ref]; st != nil {
		st.dirty = true
		c.mu.Unlock()
		return
	}
	st := &coalesced{timer: time.AfterFunc(c.interval, func() { c.fire(ref) })}
	c.rooms[ref] = st
	c.mu.Unlock()
	c.sent(st, c.send(ref, 0))
}

// sent records the fingerprint of what the room's latest send carried.
func (c *roomUsersCoalescer) sent(st *coalesced, fingerprint uint64) {
	c.mu.Lock()
	st.last = fingerprint
	c.mu.Unlock()
}

// fire ends a quiet-period window: a change seen during it is sent now and opens another
// window; otherwise the room is forgotten.
func (c *roomUsersCoalescer) fire(ref RoomRef) {
	c.mu.Lock()
	st := c.rooms[ref]
	if st == nil || c.closed {
		c.mu.Unlock()
		return
	}
	if !st.dirty {
		delete(c.rooms, ref)
		c.mu.Unlock()
		return
	}
	st.dirty = false
	st.timer = time.AfterFunc(c.interval, func() { c.fire(ref) })
	last := st.last
	c.mu.Unlock()
	c.sent(st, c.send(ref, last))
}

// close stops every pending timer; later changes are ignored.
func (c *roomUsersCoalescer) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for ref, st := range c.rooms {
		st.timer.Stop()
		delete(c.rooms, ref)
	}
}
