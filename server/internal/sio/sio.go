// Package sio is the only iohub code that sees the Socket.IO library's untyped `...any`
// arguments: it authenticates sockets, decodes each client event once into a typed request,
// runs it on the socket's chat.Session in arrival order, and routes the reply to the ack
// callback, to ack:<messageId>, or to the error event.
package sio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/iohub/iohub/server/chat"
	"github.com/iohub/iohub/server/internal/transport"
)

// handlerTimeout bounds one client event's work (store and presence calls); the bound
// is up to deadlineStep longer (see deadlines).
const handlerTimeout = 10 * time.Second

// Observer is told what happens, for metrics. Every method must be cheap and safe for
// concurrent use.
type Observer interface {
	EventIn(event string)
	EventOut(event string)                // one per emit call (a broadcast counts once)
	Replied(event string, code chat.Code) // code "" means success
	AuthFailed(code string)
	SocketsChanged(namespace string, delta int)
}

// Authenticate says who a connecting socket's user is, or why not (the error's code goes to
// connect_error's data.code).
type Authenticate func(s *socket.Socket) (chat.Principal, error)

// Options configure Mount.
type Options struct {
	// Namespaces are the static chat namespaces; Pattern, when set, adds dynamic ones.
	Namespaces []string
	Pattern    *regexp.Regexp
	Auth       Authenticate
	// AuthCode maps an Auth error to the connect_error data.code.
	AuthCode func(error) string
	Observer Observer
	Logger   *slog.Logger
}

// Hub connects the Socket.IO server to the chat service.
type Hub struct {
	io        *socket.Server
	svc       *chat.Service
	opts      Options
	log       *slog.Logger
	closing   atomic.Bool
	inflight  inflight
	deadlines deadlines
}

// New returns a Hub for io. Call Mount once the service exists (the service needs the
// Hub as its Broadcaster).
func New(io *socket.Server, opts Options) *Hub {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Hub{io: io, opts: opts, log: opts.Logger}
}

// Mount registers the chat namespaces and starts serving svc on them.
func (h *Hub) Mount(svc *chat.Service) {
	h.svc = svc
	for _, name := range h.opts.Namespaces {
		h.serve(h.io.Of(name, nil))
	}
	if h.opts.Pattern != nil {
		h.serve(h.io.Of(h.opts.Pattern, nil))
	}
}

func (h *Hub) serve(nsp socket.Namespace) {
	nsp.Use(h.authenticate)
	_ = nsp.On("connection", func(args ...any) {
		if s, ok := firstSocket(args); ok {
			h.connected(s)
		}
	})
}

func firstSocket(args []any) (*socket.Socket, bool) {
	if len(args) == 0 {
		return nil, false
	}
	s, ok := args[0].(*socket.Socket)
	return s, ok
}

// authFailed is the connect_error message of every refused connection.
const authFailed = "Authentication failed"

func (h *Hub) authenticate(s *socket.Socket, next func(*socket.ExtendedError)) {
	growStack()
	p, err := h.opts.Auth(s)
	if err != nil {
		code := h.opts.AuthCode(err)
		h.opts.Observer.AuthFailed(code)
		h.log.Debug("connection refused", "namespace", s.Nsp().Name(), "code", code, "err", err)
		next(socket.NewExtendedError(authFailed, map[string]any{"code": code}))
		return
	}
	s.SetData(&p)
	next(nil)
}

// maxPipelined is how many pipelined events (send_message) of one socket may wait for
// their answers at once; the next one waits until they all have theirs.
const maxPipelined = 32

// connected opens the socket's session and routes its events. The library runs a
// socket's event handler on the socket's ordered task queue, so the events are dispatched
// right there, one at a time and in arrival order.
func (h *Hub) connected(s *socket.Socket) {
	p, ok := s.Data().(*chat.Principal)
	if !ok {
		s.Disconnect(true)
		return
	}
	ns := s.Nsp().Name()
	ss := h.svc.Open(ns, conn{s}, *p)
	h.opts.Observer.SocketsChanged(ns, 1)
	unanswered := new(inflight) // the socket's events that have no answer yet
	s.SetEventHandler(func(event []any, ackID *uint64) {
		if h.closing.Load() {
			return
		}
		h.dispatch(s, ss, unanswered, event, ackID)
	})
	_ = s.On("disconnecting", func(...any) {
		h.inflight.add()
		s.Enqueue(func() {
			defer h.inflight.done()
			ctx := h.deadlines.context()
			if err := unanswered.wait(ctx); err != nil {
				h.log.Error("closing a session before its events were answered", "socket", string(s.Id()), "err", err)
			}
			ss.Close(ctx)
			h.opts.Observer.SocketsChanged(ns, -1)
		})
	})
}

// dispatch runs one client event once the socket's earlier events allow it (see
// route.pipelined), and answers it; ackID is the event's ack id, nil without a callback.
func (h *Hub) dispatch(s *socket.Socket, ss *chat.Session, unanswered *inflight, event []any, ackID *uint64) {
	c := &call{hub: h, s: s, unanswered: unanswered, ackID: ackID}
	var args []any
	c.name, args = splitEvent(event)
	if len(args) > 0 {
		c.payload = args[0]
	}
	h.opts.Observer.EventIn(c.name)
	c.route, c.known = routes[c.name]
	ctx := h.deadlines.context()
	settled := h.settle(ctx, unanswered, c.route.pipelined)
	h.inflight.add()
	unanswered.add()
	switch {
	case settled != nil:
		c.finish(nil, settled)
	case !c.known:
		c.finish(nil, chat.Errorf(chat.CodeUnknownEvent, "unknown event %q", c.name))
	default:
		c.run(ctx, ss)
	}
}

// settle waits until the socket's next event may start: a pipelined one once fewer than
// maxPipelined events are unanswered, any other once all are answered.
func (h *Hub) settle(ctx context.Context, unanswered *inflight, pipelined bool) error {
	if pipelined && unanswered.count() < maxPipelined {
		return nil
	}
	if err := unanswered.wait(ctx); err != nil {
		return fmt.Errorf("waiting for the socket's earlier events: %w", err)
	}
	return nil
}

// call is one client event on its way to its answer.
type call struct {
	hub        *Hub
	s          *socket.Socket
	unanswered *inflight
	name       string
	payload    any
	ackID      *uint64 // the id of the client's ack callback, nil when it passed none
	route      route
	known      bool
	answered   atomic.Bool
}

// run calls the handler, turning a panic before the answer into an internal error.
func (c *call) run(ctx context.Context, ss *chat.Session) {
	defer func() {
		if p := recover(); p != nil {
			c.finish(nil, fmt.Errorf("panic in %s handler: %v", c.name, p))
		}
	}()
	c.route.handle(ctx, ss, c.payload, c.finish)
}

// finish answers the call, the first time it is called; it may run on the store's
// goroutine, where nothing else would recover a panic.
func (c *call) finish(reply any, err error) {
	if c.answered.Swap(true) {
		return
	}
	defer c.hub.inflight.done()
	defer c.unanswered.done()
	defer func() {
		if p := recover(); p != nil {
			c.hub.log.Error("answering an event panicked", "event", c.name, "socket", string(c.s.Id()), "panic", p)
		}
	}()
	c.hub.answer(c.s, c.name, c.route, c.payload, c.ackID, reply, err)
}

// splitEvent takes a raw event apart: its name and its arguments. A nameless event gets
// the name "".
func splitEvent(event []any) (name string, args []any) {
	if len(event) == 0 {
		return "", nil
	}
	name, _ = event[0].(string)
	return name, event[1:]
}

// failure is the reply object of a failed call.
type failure struct {
	Success bool      `json:"success"`
	Code    chat.Code `json:"code"`
	Error   string    `json:"error"`
}

// errorEvent is the payload of the error event.
type errorEvent struct {
	Code    chat.Code `json:"code"`
	Message string    `json:"message"`
	Event   string    `json:"event"`
}

// answer routes a reply: to the ack callback when there is one; else to the route's
// answer event (ack:<messageId>), its unacked success event, or the error event.
func (h *Hub) answer(s *socket.Socket, name string, r route, payload any, ackID *uint64, reply any, err error) {
	var fail *chat.Error
	if err != nil {
		fail = chat.AsError(err)
		if fail.Code == chat.CodeInternal {
			h.log.Error("event failed", "event", name, "socket", string(s.Id()), "err", err)
		}
		reply = failure{Code: fail.Code, Error: fail.Message}
		h.opts.Observer.Replied(name, fail.Code)
	} else {
		h.opts.Observer.Replied(name, "")
	}
	switch {
	case ackID != nil:
		sendAck(s, *ackID, reply)
	case r.answerTo != nil && r.answerTo(payload) != "":
		_ = s.Emit(r.answerTo(payload), reply)
	case fail != nil:
		_ = s.Emit("error", errorEvent{Code: fail.Code, Message: fail.Message, Event: name})
	case r.unacked != nil:
		event, data := r.unacked(reply)
		_ = s.Emit(event, data)
	}
}

// sendAck answers the event with ack id id, once, with reply: the client's callback gets
// reply as its one argument. As the library's ack callback, it sends nothing once the
// socket is disconnected.
func sendAck(s *socket.Socket, id uint64, reply any) {
	if !s.Connected() {
		return
	}
	transport.Write(s, newAck(id, reply))
}

// newAck is the ACK packet answering id with reply, made with its id and data array in
// one allocation instead of three.
func newAck(id uint64, reply any) *parser.Packet {
	a := &ackPacket{id: id, data: [1]any{reply}}
	a.packet = parser.Packet{Type: parser.ACK, Id: &a.id, Data: a.data[:]}
	return &a.packet
}

// ackPacket is what newAck allocates.
type ackPacket struct {
	packet parser.Packet
	id     uint64
	data   [1]any
}

// Emit implements chat.Broadcaster on the namespace's adapter (which reaches every node
// in a cluster). It hands the packet to the adapter as the library's BroadcastOperator
// would, without building an operator and copying its room sets on every To, Except and
// Volatile: chat events are never reserved names and never ask for acks.
func (h *Hub) Emit(ref chat.RoomRef, event string, payload any, o chat.EmitOptions) {
	b := new(broadcast)
	b.rooms.Add(socket.Room(ref.Room))
	if o.ExceptSocket != "" {
		b.except.Add(socket.Room(o.ExceptSocket))
	}
	b.flags.Volatile = o.Volatile
	b.opts = socket.BroadcastOptions{Rooms: &b.rooms, Except: &b.except, Flags: &b.flags}
	b.data = [2]any{event, payload}
	b.packet = parser.Packet{Type: parser.EVENT, Data: b.data[:]}
	h.opts.Observer.EventOut(event)
	h.io.Of(ref.Namespace, nil).Adapter().Broadcast(&b.packet, &b.opts)
}

// broadcast is what one Emit hands the adapter, in one allocation instead of six.
type broadcast struct {
	packet        parser.Packet
	data          [2]any
	opts          socket.BroadcastOptions
	rooms, except types.Set[socket.Room]
	flags         socket.BroadcastFlags
}

// Close stops taking client events, lets the events already queued finish, disconnects
// every socket (clients reconnect elsewhere) and waits for their sessions to close.
func (h *Hub) Close(ctx context.Context) error {
	h.closing.Store(true)
	if err := h.inflight.wait(ctx); err != nil {
		return fmt.Errorf("waiting for in-flight events: %w", err)
	}
	h.io.Close(nil)
	if err := h.inflight.wait(ctx); err != nil {
		return fmt.Errorf("waiting for sessions to close: %w", err)
	}
	h.deadlines.close()
	return nil
}

// conn adapts a library socket to chat.Conn.
type conn struct{ s *socket.Socket }

func (c conn) ID() string        { return string(c.s.Id()) }
func (c conn) Join(room string)  { c.s.Join(socket.Room(room)) }
func (c conn) Leave(room string) { c.s.Leave(socket.Room(room)) }

// inflight counts queued and running tasks so Close can wait for them.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero while someone waits
}

func (f *inflight) add() {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 && f.idle != nil {
		close(f.idle)
		f.idle = nil
	}
}

func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	if f.n == 0 {
		f.mu.Unlock()
		return nil
	}
	if f.idle == nil {
		f.idle = make(chan struct{})
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return errors.Join(ctx.Err(), fmt.Errorf("%d tasks still running", f.count()))
	}
}

func (f *inflight) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// EmitRaw sends event with data to the sockets in any of rooms of namespace ns except those
// in any of except (the HTTP API's emit), on every node.
func (h *Hub) EmitRaw(ns string, rooms, except []string, event string, data any) {
	op := h.io.Of(ns, nil).To(toRooms(rooms)...)
	if len(except) > 0 {
		op = op.Except(toRooms(except)...)
	}
	h.opts.Observer.EventOut(event)
	if err := op.Emit(event, data); err != nil {
		h.log.Error("api emit failed", "event", event, "err", err)
	}
}

func toRooms(names []string) []socket.Room {
	rooms := make([]socket.Room, len(names))
	for i, n := range names {
		rooms[i] = socket.Room(n)
	}
	return rooms
}
