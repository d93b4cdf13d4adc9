package transport

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/zishang520/socket.io/v3/pkg/types"
)

// flush is the flusher's turn at the connection, whose queue it owns: it writes what is
// pending without waiting. When everything went out it gives the queue up, or queues the
// connection again if more came meanwhile; when the socket is full it hands the rest to a
// writer goroutine of the connection's own (write), which waits for the socket.
func (w *websocket) flush(sc *scratch) {
	batch, sends, ok := w.take()
	if !ok {
		return
	}
	if w.raw == nil {
		w.putBack(batch, sends)
		go w.write()
		return
	}
	rest, err := writeNow(w.raw, batch, sc)
	if err == nil && len(rest) > 0 {
		w.putBack(rest, sends)
		clear(batch)
		go w.write()
		return
	}
	if !w.wrote(batch, sends, err) {
		return
	}
	w.mu.Lock()
	more := len(w.pending) > 0 || w.sends > 0
	w.writing = more
	closing := w.closing
	w.mu.Unlock()
	switch {
	case more:
		w.flusher.ready(w)
	case closing:
		w.closeConn()
	}
}

// write is the connection's own writer, for a socket the flusher found full: it writes
// everything queued with one blocking writev per round until the queue is empty, then
// exits (closing the connection if a close is pending). The writing flag, held from the
// flusher's hand-over until the queue is empty, makes it the queue's only owner.
func (w *websocket) write() {
	for {
		batch, sends, ok := w.take()
		if !ok {
			return
		}
		var err error
		if len(batch) > 0 {
			bufs := net.Buffers(batch)
			_, err = bufs.WriteTo(w.conn)
		}
		if !w.wrote(batch, sends, err) {
			return
		}
	}
}

// take empties the queue for its owner and returns the frames and the number of Send
// calls they end. When there is nothing, it gives ownership up, closes the connection if
// a close is pending, and reports false.
func (w *websocket) take() (batch [][]byte, sends int, ok bool) {
	w.mu.Lock()
	batch, sends = w.pending, w.sends
	if len(batch) == 0 && sends == 0 {
		w.writing = false
		closing := w.closing
		w.mu.Unlock()
		if closing {
			w.closeConn()
		}
		return nil, 0, false
	}
	w.pending, w.spare = w.spare[:0], nil
	w.sends, w.queued = 0, 0
	w.mu.Unlock()
	return batch, sends, true
}

// putBack returns frames not yet written to the front of the queue, copying them.
func (w *websocket) putBack(frames [][]byte, sends int) {
	w.mu.Lock()
	w.pending = append(append(make([][]byte, 0, len(frames)+len(w.pending)), frames...), w.pending...)
	w.sends += sends
	for _, f := range frames {
		w.queued += len(f)
	}
	w.mu.Unlock()
}

// wrote finishes a written batch: it keeps the batch's array for reuse, lifts congestion
// once the queue is short again and emits the Send calls' "drain" events. After a failed
// write it ends the connection and reports false.
func (w *websocket) wrote(batch [][]byte, sends int, err error) bool {
	clear(batch)
	w.mu.Lock()
	if cap(batch) <= maxSpare {
		w.spare = batch[:0]
	}
	ready := w.congested && w.queued < lowWater
	if ready {
		w.congested = false
		w.refilling = true
		w.SetWritable(true)
	}
	w.mu.Unlock()

	if err != nil {
		w.writeFailed(err)
		return false
	}
	for range sends {
		w.Emit("drain")
	}
	if ready {
		w.Emit("ready") // the engine sends what it buffered while the transport was not writable
		w.mu.Lock()
		w.refilling = false
		w.mu.Unlock()
	}
	return true
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

// closeConn closes the connection once, then the transport (OnClose).
func (w *websocket) closeConn() {
	w.closeOnce.Do(func() {
		w.poll.forget(w)
		_ = w.socket.Close()
		w.OnClose()
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
