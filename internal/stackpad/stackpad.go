// Package stackpad keeps the stack of a long-lived goroutine that blocks between bursts of
// deep work (a connection reader, the store's writer and answerer) from being shrunk by
// every garbage collection and grown again by the next burst.
//
// The collector halves a blocked goroutine's stack when less than a quarter of it is in
// use, and such a goroutine blocks near the top of its stack. Growing it back copies every
// frame of the deep call it is in (runtime.newstack, ~60k instructions each time in
// iohub's send_message path), which was ~7 % of the server's instructions per
// acknowledged send_message. A Pad held in the goroutine's top frame keeps a quarter of a
// stack of up to 4 × len(Pad) in use while it blocks.
package stackpad

// Pad is stack space a goroutine keeps in its top frame.
type Pad [8 << 10]byte

// Hold keeps pad in its caller's frame. Call it at the start of the goroutine's function
// with the address of a local Pad:
//
//	var pad stackpad.Pad
//	stackpad.Hold(&pad)
//
//go:noinline
func Hold(*Pad) {}
