//go:build !linux

package transport

// poller is a no-op where iohub has no epoll: every connection keeps its reader goroutine.
type poller struct{}

// park never parks: the caller keeps reading.
func (*poller) park(*websocket) bool { return false }

// forget has nothing to forget.
func (*poller) forget(*websocket) {}

// Close has nothing to stop.
func (*poller) Close() {}
