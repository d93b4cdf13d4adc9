package transport

import (
	"slices"
	"testing"
)

// take hands the connections out in order, chunk by chunk, keeps no reference to a taken
// one, and reuses the queue's array once it is empty.
func TestFlusherTakeKeepsOrderAndReusesTheQueue(t *testing.T) {
	var f flusher
	conns := make([]*websocket, flushChunk*3)
	for i := range conns {
		conns[i] = &websocket{}
		f.queue = append(f.queue, conns[i])
	}
	var got []*websocket
	for chunk := f.take(nil); len(chunk) > 0; chunk = f.take(nil) {
		if len(chunk) > flushChunk {
			t.Fatalf("chunk of %d", len(chunk))
		}
		got = append(got, chunk...)
		if slices.ContainsFunc(f.queue[len(f.queue):cap(f.queue)], func(w *websocket) bool { return w != nil }) {
			t.Fatal("the queue's array keeps a taken connection")
		}
	}
	if !slices.Equal(got, conns) {
		t.Fatal("connections out of order")
	}
	w := conns[0]
	if n := testing.AllocsPerRun(100, func() {
		f.queue = append(f.queue, w)
		f.take(got[:0])
	}); n != 0 {
		t.Fatalf("a queue that emptied is regrown: %v allocations per ready and take", n)
	}
}
