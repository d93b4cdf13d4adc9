package transport

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"

	ws "github.com/gorilla/websocket"
)

// errNoHijacker is returned when the server's response writer cannot be hijacked.
var errNoHijacker = errors.New("transport: response writer does not implement http.Hijacker")

// ReleaseOnHijack wraps the Socket.IO handler for WebSocket upgrade requests; other
// requests pass through untouched. It does two things:
//
//   - the connection does not keep net/http's response alive: the library keeps the
//     request's response writer for the connection's lifetime, and with it the HTTP
//     connection's read and write buffers (about 8 KiB), of no use once the upgrade has
//     hijacked the connection;
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
	})
}

// releasingWriter forwards to the response writer until Hijack, then forgets it.
type releasingWriter struct {
	mu     sync.Mutex
	rw     http.ResponseWriter // nil once hijacked
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
	return conn, brw, nil
}

func (w *releasingWriter) writer() http.ResponseWriter {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rw
}
