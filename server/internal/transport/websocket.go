// Package transport is iohub's Engine.IO "websocket" transport. It replaces the library's
// stock one (registered under the same name with SetTransports; polling stays stock) and
// changes only how frames reach the socket:
//
//   - a broadcast's pre-encoded packet is framed once and the same bytes are queued on every
//     receiving connection (the stock transport builds a gorilla PreparedMessage per
//     receiver, most of the garbage of a fan-out);
//   - each connection has one write queue, written with one writev for everything pending,
//     so a burst of messages costs one syscall per connection, not one per message. A few
//     goroutines shared by all connections (flusher) do the writing, without waiting on a
//     full socket; a connection whose socket is full gets a writer goroutine of its own
//     until its queue is empty, and an idle connection costs no goroutine for writing;
//   - an idle connection costs no reader goroutine either (Linux): once nothing is left to
//     read, the reader hands the connection to the Builder's epoll poller and exits; the
//     poller starts a new reader when input arrives. A parked connection has no read
//     deadline (the engine's idle timeout applies while a message is being read); the
//     engine's ping timeout, shorter by default, ends a silent peer.
//
// Reading, the Engine.IO events it emits (packet, drain, ready, error, close) and the
// close handshake follow the stock transport. It never compresses: iohub does not enable
// perMessageDeflate, so no client negotiates it.
package transport

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"syscall"
	"time"

	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

const (
	// highWater is the queued byte count above which the transport reports itself not
	// writable, so the library drops volatile packets and buffers the others until the
	// queue drains below lowWater.
	highWater = 256 << 10
	lowWater  = 32 << 10
	// closeTimeout bounds the last flush of a closing connection to a stuck peer.
	closeTimeout = 5 * time.Second
	// maxSpare is the largest queue backing array kept for reuse between flushes.
	maxSpare = 1024
)

// Builder constructs the transport; register it with the engine's SetTransports under
// its Name, "websocket" (Set does). The zero Builder is ready to use; Close it once the
// server is shut down.
type Builder struct {
	frames  frameCache
	flusher flusher
	poll    poller
}

// Set is the engine's transport set for iohub: the library's polling and b's websocket.
func (b *Builder) Set() *types.Set[transports.TransportCtor] {
	return types.NewSet[transports.TransportCtor](&transports.PollingBuilder{}, b)
}

// Close stops the poller of idle connections; connections still open get a reader
// goroutine each again.
func (b *Builder) Close() { b.poll.Close() }

// New implements transports.TransportCtor.
func (b *Builder) New(ctx *types.HttpContext) transports.Transport {
	w := &websocket{Transport: transports.MakeTransport(), frames: &b.frames, flusher: &b.flusher, poll: &b.poll, fd: -1}
	w.Prototype(w)
	w.Construct(ctx)
	return w
}

// Name implements transports.TransportCtor.
func (*Builder) Name() string { return transports.WEBSOCKET }

// HandlesUpgrades implements transports.TransportCtor.
func (*Builder) HandlesUpgrades() bool { return true }

// UpgradesTo implements transports.TransportCtor: websocket is the last stop.
func (*Builder) UpgradesTo() []string { return nil }

// websocket is one Engine.IO connection over a WebSocket.
type websocket struct {
	transports.Transport

	frames  *frameCache
	flusher *flusher
	socket  *types.WebSocketConn
	conn    net.Conn // the socket's connection; frames are written to it directly
	// raw writes to conn without waiting (the flusher's writes); nil when conn has no
	// file descriptor, and then every write is a blocking one.
	raw         syscall.RawConn
	idleTimeout time.Duration
	closeOnce   sync.Once
	// handled, when not nil, is closed once the upgrade request's handler has returned
	// (see ReleaseOnHijack); reading waits for it.
	handled <-chan struct{}

	// Reading state, owned by the connection's one reader at a time.
	poll *poller
	// buffered is the websocket's read buffer, nil when it cannot be found: a connection is
	// parked only when nothing is left in it, and lends the buffer's memory to
	// readBuffers while parked (buffered is then a zero Reader).
	buffered *bufio.Reader
	readSize int // the read buffer's size
	fd       int // the connection's descriptor, -1 when it has none (it is then never parked)
	// registered (the descriptor is in the poller's epoll set) and forgotten (the
	// connection is closing and must not be parked) are guarded by poll's mutex.
	registered bool
	forgotten  bool

	mu        sync.Mutex
	pending   [][]byte // frames waiting for the writer, in order
	spare     [][]byte // the previous batch's backing array, reused
	queued    int      // bytes in pending
	sends     int      // Send calls whose frames are in pending: one "drain" each once written
	writing   bool     // the flusher or a writer goroutine owns the queue
	congested bool     // reported not writable until the queue drains
	// direct says the engine holds no packet for this transport, so a broadcast frame may
	// be queued without going through it (see AdapterBuilder).
	direct bool
	// refilling: congestion was lifted but the engine has not yet sent what it buffered
	// meanwhile, so a write through the engine does not make the transport direct.
	refilling bool
	closing   bool // no more frames; close the connection once pending is written
}

// Construct implements transports.Transport.
func (w *websocket) Construct(ctx *types.HttpContext) {
	w.Transport.Construct(ctx)
	w.idleTimeout = ctx.IdleTimeout
	w.socket = ctx.Websocket
	w.conn = w.socket.NetConn()
	var held []byte
	if hc, ok := w.conn.(*heldConn); ok {
		w.conn, held = hc.Conn, hc.takeHeld()
	}
	if sc, ok := w.conn.(syscall.Conn); ok {
		w.raw, _ = sc.SyscallConn()
	}
	if w.buffered = readBuffer(w.socket.Conn); w.buffered != nil {
		w.readSize = w.buffered.Size()
	}
	w.fd = descriptor(w.raw)
	if rw, ok := ctx.Response().(*releasingWriter); ok {
		w.handled = rw.served
	}
	// Control replies go through the write queue: gorilla's default handlers write on their
	// own with a write deadline that would outlive them and fail the writer's next write.
	w.socket.SetPingHandler(func(data string) error {
		w.enqueue(newFrame(opPong, []byte(data)), false)
		return nil
	})
	w.socket.SetCloseHandler(func(code int, _ string) error {
		w.enqueue(newFrame(opClose, ws.FormatCloseMessage(code, "")), false)
		return nil
	})
	// The connection's errors and its close are this transport's own doing (readFailed,
	// closeConn), which call OnError and OnClose directly: listeners on the socket's emitter
	// would cost every connection two entries and a closure for its lifetime.
	// A websocket that opened the session starts empty; one that upgrades a polling session
	// may find packets the engine buffered during the upgrade.
	w.direct = !ctx.Query().Has("sid")
	w.SetWritable(true)
	w.SetPerMessageDeflate(nil)
	if len(held) > 0 {
		w.enqueue(held, false) // the upgrade response, ahead of the open packet
	}
	go w.read(true)
}

// readBuffer returns the buffered reader a gorilla connection reads from, nil when the
// gorilla version at hand does not keep it where v1.5 does. Gorilla does not expose it; the
// reader needs it to see whether a connection is idle (nothing buffered) before parking it.
func readBuffer(c *ws.Conn) *bufio.Reader {
	if c == nil {
		return nil
	}
	f := reflect.ValueOf(c).Elem().FieldByName("br")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*bufio.Reader]() || f.IsNil() {
		return nil
	}
	return (*bufio.Reader)(f.UnsafePointer())
}

// descriptor returns the file descriptor behind raw, -1 when there is none (raw is nil
// for a connection without one: a TLS connection, say).
func descriptor(raw syscall.RawConn) int {
	fd := -1
	if raw == nil || raw.Control(func(d uintptr) { fd = int(d) }) != nil {
		return -1
	}
	return fd
}

// Name implements transports.Transport.
func (*websocket) Name() string { return transports.WEBSOCKET }

// HandlesUpgrades implements transports.Transport.
func (*websocket) HandlesUpgrades() bool { return true }

// read delivers incoming messages until the connection ends, then closes it, or until
// nothing is left to read: it then parks the connection with the poller, which starts
// read again (with park false) on input. park says whether it may park before reading a
// first message. It is the connection's only reader and exits when reading fails or the
// connection is parked.
func (w *websocket) read(park bool) {
	if w.handled != nil {
		<-w.handled
	}
	if w.buffered != nil && w.buffered.Size() == 0 {
		w.borrowBuffer()
	}
	for ; ; park = true {
		if park && w.idle() {
			return
		}
		if w.idleTimeout > 0 {
			_ = w.socket.SetReadDeadline(time.Now().Add(w.idleTimeout))
		}
		mt, r, err := w.socket.NextReader()
		if err != nil {
			w.readFailed(err)
			return
		}
		msg, err := readMessage(r)
		if err != nil {
			w.readFailed(err)
			return
		}
		w.deliver(mt, msg)
	}
}

// readBuffers holds the read buffers of parked connections for the connections that are
// reading, so an idle connection keeps no read buffer.
var readBuffers sync.Pool // of *bufio.Reader, each over no connection

// idle parks the connection when nothing is left in its read buffer and reports whether
// it did; the caller must then return. The buffer goes to readBuffers meanwhile.
func (w *websocket) idle() bool {
	if w.buffered == nil || w.buffered.Buffered() != 0 {
		return false
	}
	lent := new(bufio.Reader)
	*lent = *w.buffered
	*w.buffered = bufio.Reader{}
	if !w.poll.park(w) {
		*w.buffered = *lent
		return false
	}
	// w may have a new reader already; lent is no longer w's.
	lent.Reset(nil)
	readBuffers.Put(lent)
	return true
}

// borrowBuffer gives a connection woken from the poller a read buffer of its size again.
func (w *websocket) borrowBuffer() {
	r, _ := readBuffers.Get().(*bufio.Reader)
	if r == nil || r.Size() != w.readSize {
		r = bufio.NewReaderSize(w.conn, w.readSize)
	}
	r.Reset(w.conn)
	*w.buffered = *r
}

// readFailed ends the connection after a read error: a close frame or a closed connection
// is a close; anything else (an over-size message, a protocol error) is an error first.
func (w *websocket) readFailed(err error) {
	var closeErr *ws.CloseError
	graceful := errors.As(err, &closeErr)
	if !graceful && !errors.Is(err, net.ErrClosed) {
		w.OnError("websocket error", fmt.Errorf("reading websocket: %w", err))
	}
	if graceful {
		w.shutdown() // lets the writer send the close reply first
		return
	}
	w.closeConn()
}

// Send implements transports.Transport: it queues the packets' frames and returns. A
// broadcast's pre-encoded packet shares one frame across all receivers.
func (w *websocket) Send(packets []*packet.Packet) {
	// One "drain" per Send once its frames are written, even after an error, as the stock
	// transport does: the engine pairs each Send with one.
	defer w.enqueue(nil, true)
	for _, p := range packets {
		frame, err := w.frame(p)
		if err != nil {
			w.OnError("websocket error", err)
			return
		}
		w.enqueue(frame, false)
	}
}

// frame returns the frame of one outgoing packet.
func (w *websocket) frame(p *packet.Packet) ([]byte, error) {
	if p.Options != nil && p.Options.WsPreEncodedFrame != nil {
		return w.frames.frame(p.Options.WsPreEncodedFrame), nil
	}
	data, err := w.Parser().EncodePacket(p, w.SupportsBinary())
	if err != nil {
		return nil, fmt.Errorf("encoding packet: %w", err)
	}
	return newFrame(dataOpcode(data), data.Bytes()), nil
}

// enqueue queues frame (nil: none) and hands the connection to the flusher if nobody
// owns its queue. send marks the end of one Send call, answered with "drain" once
// everything before it is written.
func (w *websocket) enqueue(frame []byte, send bool) {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	start := w.pushLocked(frame, send)
	w.mu.Unlock()
	if start {
		w.flusher.ready(w)
	}
}

// enqueueBroadcast queues a broadcast frame that bypasses the engine, when that keeps the
// connection's order; it reports false, queueing nothing, when the engine may still hold
// earlier packets for this transport or the connection is congested or closing: the
// caller then goes through the engine.
func (w *websocket) enqueueBroadcast(frame []byte) bool {
	w.mu.Lock()
	if !w.direct || w.congested || w.closing {
		w.mu.Unlock()
		return false
	}
	start := w.pushLocked(frame, false)
	w.mu.Unlock()
	if start {
		w.flusher.ready(w)
	}
	return true
}

// engineDrained records that the engine has just written through this transport, so it
// holds nothing older for it (unless congestion makes it buffer again, or the packets it
// buffered during congestion are still to come: see refilling).
func (w *websocket) engineDrained() {
	w.mu.Lock()
	if !w.congested && !w.refilling {
		w.direct = true
	}
	w.mu.Unlock()
}

// pushLocked appends frame (nil: none) to the queue and reports whether it took
// ownership of the queue for the flusher, which the caller then hands it to. Call with
// w.mu held.
func (w *websocket) pushLocked(frame []byte, send bool) (start bool) {
	if frame != nil {
		w.pending = append(w.pending, frame)
		w.queued += len(frame)
	}
	if send {
		w.sends++
	}
	if w.queued > highWater && !w.congested {
		w.congested = true
		w.direct = false // the engine buffers while the transport is not writable
		w.SetWritable(false)
	}
	start = !w.writing
	w.writing = true
	return start
}
