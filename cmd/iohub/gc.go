package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// liveHeapMetric is the heap the last collection found reachable.
const liveHeapMetric = "/gc/heap/live:bytes"

// gcFloor keeps the garbage collector from collecting a small heap often: after every
// collection it sets the GC percent so that the next one starts no earlier than when the
// heap holds floor bytes, and never below the percent in effect when it started (GOGC's,
// 100 by default). The Go runtime's own floor is 4 MiB: a node serving a few thousand
// connections keeps a live heap of a few MiB, so at 100 % it collected every few MiB of
// allocation, many times a second under load, and marked the same live objects each time
// (a third of the instructions of each acknowledged send_message on the embedded store,
// measured with callgrind). With a floor of 64 MiB it collects a few times a second
// instead. Once the live heap is beyond half the floor, the percent is GOGC's again and
// the heap keeps its usual headroom, so a node holding many idle connections uses no
// more memory than without the floor.
type gcFloor struct {
	floor uint64
	base  int

	mu      sync.Mutex
	stopped bool
	sample  []metrics.Sample
}

// gcSentinel is an object whose only use is to become unreachable: its cleanup runs after
// the collection that frees it. The pointer keeps it out of the tiny allocator, which
// would keep it alive with its neighbours.
type gcSentinel struct {
	_ *int
	_ [16]byte
}

// startGCFloor starts keeping the heap goal at floor bytes or more, unless floor is 0 or
// the GOGC environment variable is set (an explicit GOGC wins). The returned stop restores
// the percent in effect before.
func startGCFloor(floor uint64) (stop func(), started bool) {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return func() {}, false
	}
	g := &gcFloor{floor: floor, base: debug.SetGCPercent(100), sample: []metrics.Sample{{Name: liveHeapMetric}}}
	debug.SetGCPercent(g.base)
	g.adjust()
	return g.stop, true
}

// adjust sets the percent for the live heap the latest collection found, and arms the
// next adjustment, after the next collection.
func (g *gcFloor) adjust() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	metrics.Read(g.sample)
	debug.SetGCPercent(percentFor(g.sample[0].Value.Uint64(), g.floor, g.base))
	runtime.AddCleanup(new(gcSentinel), func(g *gcFloor) { g.adjust() }, g)
}

// stop restores the base percent; adjustments armed before are then no-ops.
func (g *gcFloor) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	debug.SetGCPercent(g.base)
}

// runtimeHeapMinimum is the Go runtime's smallest heap goal at a GC percent of 100 (its
// defaultHeapMinimum). The runtime scales it with the percent: at 1 000 % no collection
// starts before 40 MiB, whatever is live.
const runtimeHeapMinimum = 4 << 20

// percentFor is the GC percent that puts the heap goal at floor, or base when that is
// more. The goal is live*(1+percent/100), but never under the runtime's minimum, which
// grows with the percent; so the percent is also capped where that minimum reaches floor.
// Without the cap, a percent computed for a live heap of a few hundred KiB put the first
// collection of a fresh node beyond 500 MiB.
func percentFor(live, floor uint64, base int) int {
	if floor <= live {
		return base
	}
	p := floor * 100 / runtimeHeapMinimum
	if live > 0 {
		p = min(p, (floor-live)*100/live)
	}
	return max(int(p), base)
}
