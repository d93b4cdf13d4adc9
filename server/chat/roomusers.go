package chat

import (
	"sync"
	"time"
)

// roomUsersCoalescer sends room_users per room: the first change after a quiet period at
// once, later changes within the interval folded into one trailing send (which reads the
// list when it fires, so it carries the latest one).
//
// A trailing send is never skipped because its list equals the one sent last: a user who
// left and came back within the interval yields the same list, yet the room was told
// user_left and user_joined since, and the new socket, which joined the Socket.IO room after
// the last send, has not seen any list (PROTOCOL.md join_room: the joiner gets room_users).
// A join that raced the leading send may so get the same list twice; that costs at most one
// extra broadcast per interval.
type roomUsersCoalescer struct {
	interval time.Duration
	send     func(RoomRef)

	mu     sync.Mutex
	rooms  map[RoomRef]*coalesced
	closed bool
}

type coalesced struct {
	timer *time.Timer
	dirty bool
}

func newRoomUsersCoalescer(interval time.Duration, send func(RoomRef)) *roomUsersCoalescer {
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
	c.rooms[ref] = &coalesced{timer: time.AfterFunc(c.interval, func() { c.fire(ref) })}
	c.mu.Unlock()
	c.send(ref)
}

// fire ends a quiet-period window: a change seen during it is sent now, whatever the list,
// and opens another window; otherwise the room is forgotten.
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
	c.mu.Unlock()
	c.send(ref)
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
