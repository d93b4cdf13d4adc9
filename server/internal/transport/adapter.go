package transport

import (
	"slices"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// AdapterBuilder builds the library's in-memory adapter with one change: a broadcast is
// framed once and the frame is queued straight on each receiver that is on this package's
// websocket transport, skipping the library's per-socket path (packet copy, engine packet,
// its events and flush) that costs more than the write itself. Other receivers (polling,
// a socket mid-upgrade, a congested connection) get the broadcast through the library,
// as before. Single-node only: the cluster adapter keeps the library's base adapter for
// local delivery, which still shares the frame through the transport.
type AdapterBuilder struct{}

// New implements socket.AdapterConstructor.
func (AdapterBuilder) New(nsp socket.Namespace) socket.Adapter {
	a := &adapter{Adapter: socket.MakeAdapter()}
	a.Prototype(a)
	a.Construct(nsp)
	return a
}

type adapter struct {
	socket.Adapter
}

// Broadcast implements socket.Adapter.
func (a *adapter) Broadcast(p *parser.Packet, opts *socket.BroadcastOptions) {
	flags := &socket.BroadcastFlags{}
	if opts != nil && opts.Flags != nil {
		flags = opts.Flags
	}
	p.Nsp = a.Nsp().Name()
	m, ok := encodeMessage(a.Nsp().Server().Encoder(), p)
	if !ok { // binary attachments: the library's path
		a.Adapter.Broadcast(p, opts)
		return
	}
	fallback := libraryWrite{m: &m, flags: flags}
	a.each(opts, func(s *socket.Socket) {
		if notify := s.NotifyOutgoingListeners(); notify != nil {
			notify(p)
		}
		deliver(s, &m, fallback.options)
	})
}

// Write sends p to s as the library's Socket.packet would, but as Broadcast sends each
// receiver a broadcast: a text packet is framed and queued straight on s's transport
// when that is this package's websocket and the engine holds nothing for it; anything
// else goes through the engine (which drops it once the connection is closing).
func Write(s *socket.Socket, p *parser.Packet) {
	p.Nsp = s.Nsp().Name()
	m, ok := encodeMessage(s.Nsp().Server().Encoder(), p)
	if !ok {
		s.Client().WriteToEngine(m.buffers(), &socket.WriteOptions{})
		return
	}
	deliver(s, &m, func() *socket.WriteOptions { return &socket.WriteOptions{} })
}

// deliver queues m's frame on s's transport when it is this package's websocket and that
// keeps the connection's order; else it writes m through the engine with the options
// opts makes.
func deliver(s *socket.Socket, m *message, opts func() *socket.WriteOptions) {
	conn := s.Conn()
	w, mine := conn.Transport().(*websocket)
	if mine && w.enqueueBroadcast(m.frame) {
		return
	}
	s.Client().WriteToEngine(m.buffers(), opts())
	if mine && conn.Transport() == w {
		// That write went through the engine's buffer on this transport, so whatever the
		// engine held for it (packets buffered during the upgrade or while congested) is
		// now ahead of it in the queue.
		w.engineDrained()
	}
}

// libraryWrite is how a broadcast goes through the library to a receiver the frame cannot
// be queued on; its options are built for the first such receiver only.
type libraryWrite struct {
	m     *message
	flags *socket.BroadcastFlags
	opts  *socket.WriteOptions
}

// options are the write options of the library's path: the pre-encoded Engine.IO packet
// ("4" and the encoded text), which the library's websocket transports send as is and
// this package's frame cache maps back to the frame.
func (l *libraryWrite) options() *socket.WriteOptions {
	if l.opts == nil {
		pre := types.NewStringBuffer(slices.Clip(l.m.frame[len(l.m.frame)-len(l.m.text)-len(engineMessage):]))
		l.opts = &socket.WriteOptions{
			Options:    packet.Options{Compress: l.flags.Compress, WsPreEncodedFrame: pre},
			Volatile:   l.flags.Volatile,
			PreEncoded: true,
		}
	}
	return l.opts
}

// engineMessage is the Engine.IO packet type of a message, which prefixes a Socket.IO
// packet on the wire.
var engineMessage = []byte{'4'}

// singleText is the one text buffer of a packet encoded without binary attachments.
func singleText(encoded []types.BufferInterface) (*types.StringBuffer, bool) {
	if len(encoded) != 1 {
		return nil, false
	}
	text, ok := encoded[0].(*types.StringBuffer)
	return text, ok
}

// each calls fn for each connected socket in any of opts.Rooms (every socket when there
// are none) and in none of opts.Except, once each: the library adapter's selection.
func (a *adapter) each(opts *socket.BroadcastOptions, fn func(*socket.Socket)) {
	var rooms, except []socket.Room
	if opts != nil {
		if opts.Rooms != nil {
			rooms = opts.Rooms.Keys()
		}
		if opts.Except != nil {
			except = opts.Except.Keys()
		}
	}
	skip := map[socket.SocketId]struct{}{}
	for _, room := range except {
		if ids, ok := a.Rooms().Load(room); ok {
			for _, id := range ids.Keys() {
				skip[id] = struct{}{}
			}
		}
	}
	visit := func(id socket.SocketId) {
		if _, done := skip[id]; done {
			return
		}
		if s, ok := a.Nsp().Sockets().Load(id); ok {
			if len(rooms) > 1 {
				skip[id] = struct{}{} // in several of the rooms: once
			}
			if s.Connected() {
				fn(s)
			}
		}
	}
	if len(rooms) == 0 {
		a.Sids().Range(func(id socket.SocketId, _ *types.Set[socket.Room]) bool {
			visit(id)
			return true
		})
		return
	}
	for _, room := range rooms {
		if ids, ok := a.Rooms().Load(room); ok {
			for _, id := range ids.Keys() {
				visit(id)
			}
		}
	}
}
