package stats

import (
	"testing"
	"time"
)

func TestBucketsAreContiguousAndMidpointsClose(t *testing.T) {
	prev := -1
	for _, ns := range []int64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 987654321, 1 << 39} {
		b := bucketOf(ns)
		if b < prev {
			t.Fatalf("bucketOf(%d)=%d < previous %d", ns, b, prev)
		}
		prev = b
		mid := bucketMid(b)
		if diff := float64(mid-ns) / float64(max(ns, 1)); diff > 0.04 || diff < -0.04 {
			t.Errorf("bucketMid(bucketOf(%d)) = %d, off by %.3f", ns, mid, diff)
		}
	}
	for i := 1; i < numBuckets-1; i++ {
		if bucketOf(bucketMid(i)) != i {
			t.Fatalf("bucketOf(bucketMid(%d)) = %d", i, bucketOf(bucketMid(i)))
		}
	}
}

func TestQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	if h.Count() != 1000 || h.Max() != time.Millisecond {
		t.Fatalf("count %d max %v", h.Count(), h.Max())
	}
	for q, want := range map[float64]time.Duration{0.5: 500 * time.Microsecond, 0.99: 990 * time.Microsecond} {
		got := h.Quantile(q)
		if got < want*96/100 || got > want*104/100 {
			t.Errorf("Quantile(%v) = %v, want ~%v", q, got, want)
		}
	}
}
