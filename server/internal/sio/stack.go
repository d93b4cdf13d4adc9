package sio

// handlerStack is the stack a client event's handling reaches (library dispatch, store,
// encoding and writing the broadcast and the reply), rounded up to a power of two.
const handlerStack = 16 << 10

// growStack makes the calling goroutine's stack large enough for one client event in a
// single step. The library runs each burst of a socket's events on a fresh goroutine
// whose small stack would otherwise double two or three times deep inside the handler,
// each time unwinding and copying every frame (~7 % of the CPU of a send_message with
// ack). Growing here, near the top, copies a few shallow frames once. The frame's
// clearing costs ~0.1 µs when the stack is already large.
//
//go:noinline
func growStack() {
	var pad [handlerStack - 4<<10]byte // leave room for the frames above this one
	sink(pad[:])
}

//go:noinline
func sink([]byte) {}
