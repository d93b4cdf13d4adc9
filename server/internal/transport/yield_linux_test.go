package transport

import (
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestYieldRunsNetworkInputFirst: on one P, a goroutine waiting for input that has
// arrived has run by the time yield returns — what lets a flusher's long fan-out
// interleave with reading the next requests. runtime.Gosched fails this test: the
// runtime polls the network only when nothing else is runnable.
func TestYieldRunsNetworkInputFirst(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	// A bound far beyond any scheduling delay: a yield that ended on its bound rather than
	// on the network poll would fail the test only when the machine is slow.
	y := yielder{bound: time.Minute}
	defer y.close()
	for round := range 20 {
		var got atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			var b [1]byte
			if _, err := server.Read(b[:]); err == nil {
				got.Store(true)
			}
		}()
		y.yield() // the reader is now parked in the poller
		if _, err := client.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		y.yield()
		if !got.Load() {
			t.Fatalf("round %d: the reader had not run when yield returned", round)
		}
		<-done
	}
}
