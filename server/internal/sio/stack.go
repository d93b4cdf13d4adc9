package sio

// stackReserve is how much stack growStack asks for below its caller: with the frames
// above Hub.authenticate it makes a 16 KiB stack, which a connection's reader needs for
// the connection's events (decoding, the handler, encoding and queueing the replies).
const stackReserve = 8 << 10

// growStack makes the calling goroutine's stack large enough for the rest of the
// connection in a single step. A connection's reader starts with a small stack and
// reaches Hub.authenticate first; without this its stack doubled two or three times
// deeper down (auth, join_room), each time unwinding and copying every frame:
// runtime.newstack ~10 % of the server CPU per connection. The frame's clearing costs
// ~0.1 µs when the stack is already large.
//
//go:noinline
func growStack() {
	var pad [stackReserve]byte
	sink(pad[:])
}

//go:noinline
func sink([]byte) {}
