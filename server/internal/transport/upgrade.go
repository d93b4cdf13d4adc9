package transport

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	ws "github.com/gorilla/websocket"
)

// errNoHijacker is returned when the server's response writer cannot be hijacked.
var errNoHijacker = errors.New("transport: response writer does not implement http.Hijacker")

// ReleaseOnHijack wraps the Socket.IO handler for WebSocket upgrade requests; other
// requests pass through untouched. It does three things:
//
//   - the connection does not keep net/http's response alive: the library keeps the
//     request's response writer for the connection's lifetime, and with it the HTTP
//     connection's read and write buffers (about 8 KiB), of no use once the upgrade has
//     hijacked the connection;
//   - the upgrade response goes out with the transport's first frames (the open packet):
//     the hijacked connection holds back what gorilla writes to it (see heldConn) until
//     the transport takes it, one write(2) instead of two per connection;
//   - the transport starts reading only when the library's handler has returned: the
//     library sends the open packet before the Socket.IO layer listens to the new
//     connection (it attaches in the engine's "connection" event, later in the same
//     handler), so a client's CONNECT read in between was dropped and the client never
//     got its connect reply.
func ReleaseOnHijack(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ws.IsWebSocketUpgrade(r) {
			h.ServeHTTP(w, r)
			return
		}
		rw := &releasingWriter{rw: w, served: make(chan struct{})}
		defer close(rw.served)
		h.ServeHTTP(rw, r)
		rw.flushHeld()
	})
}

// releasingWriter forwards to the response writer until Hijack, then forgets it.
type releasingWriter struct {
	mu     sync.Mutex
	rw     http.ResponseWriter // nil once hijacked
	conn   *heldConn           // the hijacked connection, nil before the hijack
	served chan struct{}       // closed when the library's handler has returned
}

// Header implements http.ResponseWriter; after the hijack it is a detached header.
func (w *releasingWriter) Header() http.Header {
	if rw := w.writer(); rw != nil {
		return rw.Header()
	}
	return http.Header{}
}

// Write implements http.ResponseWriter.
func (w *releasingWriter) Write(b []byte) (int, error) {
	if rw := w.writer(); rw != nil {
		return rw.Write(b)
	}
	return 0, http.ErrHijacked
}

// WriteHeader implements http.ResponseWriter.
func (w *releasingWriter) WriteHeader(code int) {
	if rw := w.writer(); rw != nil {
		rw.WriteHeader(code)
	}
}

// Hijack implements http.Hijacker and drops the response writer.
func (w *releasingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.rw == nil {
		return nil, nil, http.ErrHijacked
	}
	hj, ok := w.rw.(http.Hijacker)
	if !ok {
		return nil, nil, errNoHijacker
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.rw = nil
	w.conn = &heldConn{Conn: conn}
	return w.conn, brw, nil
}

// flushHeld sends what the hijacked connection still holds back once the library's
// handler has returned: nothing when a transport took the upgrade response, the response
// when no transport did (the upgrade failed after it).
func (w *releasingWriter) flushHeld() {
	w.mu.Lock()
	c := w.conn
	w.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sendHeldLocked(); err != nil {
		_ = c.Conn.Close()
	}
}

func (w *releasingWriter) writer() http.ResponseWriter {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rw
}

// heldConn is a hijacked connection that holds back the first write made to it, the
// upgrade response gorilla writes, until takeHeld: the transport then sends it ahead of
// its first frames, with the same writev. A second write, or flushHeld once the handler
// has returned, sends it first when no transport took it.
type heldConn struct {
	net.Conn
	mu      sync.Mutex
	held    []byte
	through bool // the first write is taken or sent: writes go straight to the connection
}

// Write implements net.Conn: the first write is kept (a copy, gorilla reuses its buffer)
// and reported written; a later one first sends what is held.
func (c *heldConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.through && c.held == nil {
		c.held = append([]byte{}, b...)
		return len(b), nil
	}
	if err := c.sendHeldLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// takeHeld returns the write held back, which the caller must send, and lets later
// writes through.
func (c *heldConn) takeHeld() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.takeLocked()
}

// sendHeldLocked writes what is held back, if anything, and lets later writes through.
// Call with c.mu held.
func (c *heldConn) sendHeldLocked() error {
	held := c.takeLocked()
	if len(held) == 0 {
		return nil
	}
	if _, err := c.Conn.Write(held); err != nil {
		return fmt.Errorf("writing the upgrade response: %w", err)
	}
	return nil
}

func (c *heldConn) takeLocked() []byte {
	held := c.held
	c.held, c.through = nil, true
	return held
}
