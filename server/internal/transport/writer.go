package transport

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// write is the connection's writer, started by enqueue when the queue gets work: it
// writes everything queued with one writev per round until the queue is empty, then
// exits (closing the connection if a close is pending). At most one runs at a time: the
// writing flag, set by enqueue and cleared here under the lock, owns the queue.
func (w *websocket) write() {
	for {
		w.mu.Lock()
		batch, sends := w.pending, w.sends
		if len(batch) == 0 && sends == 0 {
			w.writing = false
			closing := w.closing
			w.mu.Unlock()
			if closing {
				w.closeConn()
			}
			return
		}
		w.pending, w.spare = w.spare[:0], nil
		w.sends, w.queued = 0, 0
		w.mu.Unlock()

		var err error
		if len(batch) > 0 {
			bufs := net.Buffers(batch)
			_, err = bufs.WriteTo(w.conn)
		}
		clear(batch)

		w.mu.Lock()
		if cap(batch) <= maxSpare {
			w.spare = batch[:0]
		}
		ready := w.congested && w.queued < lowWater
		if ready {
			w.congested = false
			w.SetWritable(true)
		}
		w.mu.Unlock()

		if err != nil {
			w.writeFailed(err)
			return
		}
		for range sends {
			w.Emit("drain")
		}
		if ready {
			w.Emit("ready")
		}
	}
}

// writeFailed drops the queue and ends the connection after a failed write.
func (w *websocket) writeFailed(err error) {
	w.mu.Lock()
	w.closing = true
	w.writing = false
	w.pending, w.sends, w.queued = nil, 0, 0
	w.mu.Unlock()
	if !errors.Is(err, net.ErrClosed) {
		w.socket.Emit("error", fmt.Errorf("writing websocket: %w", err))
	}
	w.closeConn()
}

// shutdown takes no more frames and closes the connection once the queued ones are
// written, giving a stuck peer closeTimeout.
func (w *websocket) shutdown() {
	w.mu.Lock()
	w.closing = true
	idle := !w.writing
	w.mu.Unlock()
	if idle {
		w.closeConn()
		return
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
}

// closeConn closes the connection once; the socket's "close" event then closes the
// transport (OnClose).
func (w *websocket) closeConn() {
	w.closeOnce.Do(func() {
		w.poll.forget(w)
		_ = w.socket.Close()
	})
}

// DoClose implements transports.Transport: it runs fn, then closes the connection after
// the frames already queued (a disconnect packet, say) are written.
func (w *websocket) DoClose(fn types.Callable) {
	if fn != nil {
		fn()
	}
	w.shutdown()
}

// OnClose implements transports.Transport: the connection is gone, so the queue takes
// nothing more; a running writer fails on the closed connection and exits.
func (w *websocket) OnClose() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.Transport.OnClose()
}
