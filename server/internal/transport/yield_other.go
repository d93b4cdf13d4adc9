//go:build !linux

package transport

import "runtime"

// yielder lets other goroutines run between a flusher's chunks. Outside Linux it only
// moves the goroutine to the back of the run queue.
type yielder struct{}

// yield lets the other runnable goroutines run first.
func (*yielder) yield() { runtime.Gosched() }

// close does nothing.
func (*yielder) close() {}
