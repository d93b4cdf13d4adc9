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
	mu      sync.Mutex
	queue   []*websocket // connections with work, in the order they got it
	running int          // goroutines in run
}

// ready queues w, whose writing flag the caller has just set, and starts a goroutine
// when none runs or the queue is longer than the running ones can take in a chunk each.
func (f *flusher) ready(w *websocket) {
	f.mu.Lock()
	f.queue = append(f.queue, w)
	start := f.running == 0 ||
		(len(f.queue) > f.running*flushChunk && f.running < runtime.GOMAXPROCS(0))
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
		n := min(len(f.queue), flushChunk)
		if n == 0 {
			f.running--
			f.queue = nil // drop the backing array an earlier burst grew
			f.mu.Unlock()
			return
		}
		chunk = append(chunk[:0], f.queue[:n]...)
		f.queue = f.queue[n:]
		more := len(f.queue) > 0
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
