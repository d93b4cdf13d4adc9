//go:build linux

package transport

import (
	"testing"
	"time"

	ws "github.com/gorilla/websocket"
)

// parkedCount is how many connections wait in ts's poller without a reader.
func (ts *testServer) parkedCount() int {
	p := &ts.transports.poll
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked)
}

// parkedBufferSize is the size of w's read buffer while w is parked (under the poller's
// mutex, which a reader woken for w takes first), -1 when w is not parked.
func (ts *testServer) parkedBufferSize(w *websocket) int {
	p := &ts.transports.poll
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parked[w.fd] != w {
		return -1
	}
	return w.buffered.Size()
}

// waitParked waits until n connections are parked.
func (ts *testServer) waitParked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for ts.parkedCount() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections parked, want %d", ts.parkedCount(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestIdleConnectionIsParkedAndWokenByInput(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	echoAcks(s)
	ts.waitParked(t, 1)
	if n := ts.parkedBufferSize(s.Conn().Transport().(*websocket)); n != 0 {
		t.Fatalf("a parked connection keeps a %d-byte read buffer", n)
	}
	for _, msg := range []string{`421["echo","a"]`, `422["echo","b"]`} {
		c.send(msg)
		c.expectPrefix(ws.TextMessage, msg[:1]+"3"+msg[2:3]) // 431…, 432…
		ts.waitParked(t, 1)
	}
	// Two messages in one TCP segment: the second is already buffered when the first is
	// delivered, so the reader must not park before delivering it.
	raw := append(clientFrame(`423["echo","c"]`), clientFrame(`424["echo","d"]`)...)
	if _, err := c.c.NetConn().Write(raw); err != nil {
		t.Fatal(err)
	}
	c.expectPrefix(ws.TextMessage, `433["c"]`)
	c.expectPrefix(ws.TextMessage, `434["d"]`)
	ts.waitParked(t, 1)
	// A parked connection that closes leaves the poller.
	_ = c.c.Close()
	ts.waitParked(t, 0)
}

func TestClosedPollerGivesParkedConnectionsTheirReaderBack(t *testing.T) {
	ts := newTestServer(t, nil)
	c, s := ts.connect(t)
	echoAcks(s)
	ts.waitParked(t, 1)
	ts.transports.Close()
	c.send(`421["echo","a"]`)
	c.expectPrefix(ws.TextMessage, `431["a"]`)
}

func TestReadBufferFindsGorillasReader(t *testing.T) {
	ts := newTestServer(t, nil)
	_, s := ts.connect(t)
	w, ok := s.Conn().Transport().(*websocket)
	if !ok {
		t.Fatalf("transport %T, want *websocket", s.Conn().Transport())
	}
	if w.buffered == nil || w.fd < 0 {
		t.Fatalf("buffered %v, fd %d: idle connections would keep a reader goroutine", w.buffered, w.fd)
	}
}

// clientFrame is a masked final text frame, as a client sends it (payload < 126 bytes).
func clientFrame(payload string) []byte {
	key := [4]byte{1, 2, 3, 4}
	f := []byte{0x81, 0x80 | byte(len(payload)), key[0], key[1], key[2], key[3]}
	for i := range len(payload) {
		f = append(f, payload[i]^key[i%4])
	}
	return f
}
