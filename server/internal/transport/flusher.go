package transport

import (
	"runtime"
	"sync"
)

// flushChunk is how many connections a flusher writes between two yields to the network
// poller: small enough that a fan-out to thousands of members lets the server read and
// process the next requests in between, large enough that the yield costs little.
const flushChunk = 32

// flusher writes the queued frames of connections that have work, from at most
// GOMAXPROCS goroutines shared by all connections instead of a goroutine per connection
// per wake-up. Between chunks of connections a flusher goroutine yields until the Go
// runtime has polled the network (see yielder), so while it works through a large
// fan-out, incoming requests keep being read and processed; a broadcast made meanwhile
// lands in the queues of the members not yet written, and each of those gets both frames
// with one writev. Under load that halves the syscalls per delivery; an idle server
// writes at once, as before.
//
// Each goroutine exits when no connection is waiting, so the flusher has nothing to
// close; a connection whose socket is full is handed to its own blocking writer
// (websocket.write) and leaves the flusher.
type flusher struct {
	mu sync.Mutex
	// queue[head:] are the connections with work, in the order they got it; queue's
	// backing array is reused once they are all taken, unless a burst grew it beyond
	// maxSpare.
	queue   []*websocket
	head    int
	running int // goroutines in run
}

// ready queues w, whose writing flag the caller has just set, and starts a goroutine
// when none runs or the queue is longer than the running ones can take in a chunk each.
func (f *flusher) ready(w *websocket) {
	f.mu.Lock()
	f.queue = append(f.queue, w)
	start := f.running == 0 ||
		(len(f.queue)-f.head > f.running*flushChunk && f.running < runtime.GOMAXPROCS(0))
	if start {
		f.running++
	}
	f.mu.Unlock()
	if start {
		go f.run()
	}
}

// run writes chunks of queued connections until the queue is empty, yielding to the
// network poller between chunks.
func (f *flusher) run() {
	var (
		y  yielder
		sc scratch
	)
	defer y.close()
	var chunk []*websocket
	for {
		f.mu.Lock()
		chunk = f.take(chunk[:0])
		if len(chunk) == 0 {
			f.running--
			f.mu.Unlock()
			return
		}
		more := len(f.queue) > f.head
		f.mu.Unlock()

		for _, w := range chunk {
			w.flush(&sc)
		}
		clear(chunk)
		if more {
			y.yield()
		}
	}
}

// take moves up to flushChunk connections from the queue to dst and returns it. The
// queue's backing array is kept for the next connections: it used to be dropped whenever
// the queue emptied, and regrown (1, 2, 4, ... entries) by the next burst, about ten
// allocations per connection in a connect storm; one a burst grew beyond maxSpare is
// dropped. Call with f.mu held.
func (f *flusher) take(dst []*websocket) []*websocket {
	taken := f.queue[f.head:min(len(f.queue), f.head+flushChunk)]
	dst = append(dst, taken...)
	clear(taken)
	f.head += len(taken)
	switch {
	case f.head == len(f.queue):
		f.queue, f.head = f.queue[:0], 0
		if cap(f.queue) > maxSpare {
			f.queue = nil
		}
	case f.head >= len(f.queue)/2:
		// The taken half goes, so a queue that never empties does not grow without bound.
		n := copy(f.queue, f.queue[f.head:])
		clear(f.queue[n:])
		f.queue, f.head = f.queue[:n], 0
	}
	return dst
}
