package redis_test

import (
	"runtime"
	"testing"

	"github.com/iohub/iohub/adapters/redis/redistest"
)

// TestCloseStopsGoroutines checks that closing the Socket.IO server and the adapter ends
// every goroutine the adapter started (subscriber, heartbeats, timers).
func TestCloseStopsGoroutines(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			t.Run("cluster", func(t *testing.T) {
				nodes := startCluster(t, srv, mode, 2)
				c := dial(t, nodes[1].http, "/")
				nodes[0].io.Emit("msg", "x")
				c.expect(t, "msg")
			}) // the subtest's cleanups close both nodes
			eventually(t, "goroutines back to the baseline", func() bool {
				return runtime.NumGoroutine() <= before
			})
		})
	}
}
