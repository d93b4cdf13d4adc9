package main

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live, floor uint64
		want        int
	}{
		{live: 0, floor: 64 * mib, want: 1600},         // nothing measured yet: the runtime's minimum, 4 MiB*16, is the floor
		{live: 512 << 10, floor: 64 * mib, want: 1600}, // capped where the runtime's minimum reaches 64 MiB
		{live: 8 * mib, floor: 64 * mib, want: 700},    // goal 8*(1+7) = 64 MiB
		{live: 40 * mib, floor: 64 * mib, want: 100},   // 100 % already reaches 80 MiB
		{live: 64 * mib, floor: 64 * mib, want: 100},
		{live: 1 * mib, floor: 2 * mib, want: 100}, // a floor under the runtime's minimum: GOGC's percent
	} {
		if got := percentFor(c.live, c.floor, 100); got != c.want {
			t.Errorf("percentFor(%d, %d, 100) = %d, want %d", c.live, c.floor, got, c.want)
		}
	}
}

// gcPercent is the GC percent in effect.
func gcPercent() uint64 { return readMetric("/gc/gogc:percent") }

// readMetric reads one uint64 runtime metric.
func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitPercent collects until the floor's adjustment after a collection gives the percent
// ok accepts; it fails after 10 s.
func waitPercent(t *testing.T, what string, ok func(uint64) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		if ok(gcPercent()) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("GC percent %d, want %s", gcPercent(), what)
}

// TestGCFloorFollowsLiveHeap: with a live heap far under the floor the percent rises to
// reach it, and the next collection starts at the floor, not beyond; with a live heap beyond the floor it is GOGC's again; stop restores it.
func TestGCFloorFollowsLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "") // unset for startGCFloor, whatever the environment says
	const floor = 256 << 20
	stop, started := startGCFloor(floor)
	if !started {
		t.Fatal("not started")
	}
	defer stop()
	waitPercent(t, "far above 100 with a small live heap", func(p uint64) bool { return p > 1000 })
	if goal := readMetric("/gc/heap/goal:bytes"); goal > floor {
		t.Fatalf("heap goal %d MiB at GC percent %d, want at most the floor, %d MiB", goal>>20, gcPercent(), floor>>20)
	}

	live := make([]byte, floor+floor/2) // never written: virtual memory only
	waitPercent(t, "100 with 384 MiB live", func(p uint64) bool { return p == 100 })
	runtime.KeepAlive(live)

	waitPercent(t, "above 100 again once the heap is freed", func(p uint64) bool { return p > 1000 })
	stop()
	if p := gcPercent(); p != 100 {
		t.Fatalf("after stop: GC percent %d, want 100", p)
	}
}

func TestGCFloorLeavesExplicitGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	if stop, started := startGCFloor(64 << 20); started {
		stop()
		t.Fatal("started although GOGC is set")
	}
	if _, started := startGCFloor(0); started {
		t.Fatal("started with a floor of 0")
	}
}
