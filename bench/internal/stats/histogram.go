// Package stats holds what the load scenarios measure with: a lock-free latency histogram and
// readers for a process's memory and CPU time from /proc.
package stats

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of two (~3 %).
const subBits = 5

const (
	subCount = 1 << subBits
	// maxShift covers values up to 2^(maxShift+subBits+1) ns (~9 minutes).
	maxShift   = 34
	numBuckets = 2*subCount + maxShift*subCount
)

// Histogram records durations in log-linear buckets. Record is safe for concurrent use and
// allocation-free; read results once recording has stopped.
type Histogram struct {
	buckets [numBuckets]atomic.Uint64
	count   atomic.Uint64
	max     atomic.Int64
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	ns := max(int64(d), 0)
	h.buckets[bucketOf(ns)].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// Count is the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.count.Load() }

// Max is the largest recorded duration.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the duration below which a fraction q (0..1) of the records fall, at the
// histogram's precision; 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return min(time.Duration(bucketMid(i)), h.Max())
		}
	}
	return h.Max()
}

// bucketOf maps ns to its bucket: exact below 2*subCount, then subCount buckets per octave.
func bucketOf(ns int64) int {
	v := uint64(ns)
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	if shift > maxShift {
		return numBuckets - 1
	}
	return shift*subCount + int(v>>uint(shift))
}

// bucketMid is the middle of bucket i's value range.
func bucketMid(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	low := int64(i-shift*subCount) << uint(shift)
	return low + (int64(1)<<uint(shift))/2
}
