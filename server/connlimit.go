package server

import (
	"fmt"
	"net"
	"sync"

	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// ipLimit caps open Engine.IO connections per client IP (limits.max_connections_per_ip).
// A handshake is refused while the IP is at the cap; handshakes racing each other can
// overshoot it by the number in flight at once.
type ipLimit struct {
	max    int
	mu     sync.Mutex
	counts map[string]int
}

func newIPLimit(max int) *ipLimit { return &ipLimit{max: max, counts: make(map[string]int)} }

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// allowRequest is the engine's AllowRequest hook, run for every handshake.
func (l *ipLimit) allowRequest(ctx *types.HttpContext) error {
	ip := hostOf(ctx.Request().RemoteAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts[ip] >= l.max {
		return fmt.Errorf("too many connections from %s (limit %d)", ip, l.max)
	}
	return nil
}

// track counts an opened engine connection until it closes.
func (l *ipLimit) track(args ...any) {
	if len(args) == 0 {
		return
	}
	conn, ok := args[0].(engine.Socket)
	if !ok {
		return
	}
	ip := hostOf(conn.RemoteAddress())
	l.mu.Lock()
	l.counts[ip]++
	l.mu.Unlock()
	_ = conn.Once("close", func(...any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.counts[ip]--; l.counts[ip] <= 0 {
			delete(l.counts, ip)
		}
	})
}
