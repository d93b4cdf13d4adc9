package redis

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zishang520/socket.io/adapters/adapter/v3"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

// channels are the Redis channels of one namespace adapter.
type channels struct {
	main    string // envelopes for every node
	self    string // responses to this node
	classic string // base of classic broadcasts: P#nsp#, one room: P#nsp#<room>#
	pattern string // PSUBSCRIBE pattern of classic broadcasts
}

// newChannels names the channels of namespace nsp on node uid (see the package doc).
func newChannels(prefix string, sharded bool, nsp string, uid adapter.ServerId) channels {
	classic := prefix + "#" + nsp + "#"
	main := prefix + "-cluster#" + nsp + "#"
	if sharded {
		main = classic
	}
	return channels{
		main:    main,
		self:    main + string(uid) + "#",
		classic: classic,
		pattern: globEscape(classic) + "*",
	}
}

// responseTo is the channel on which node uid receives responses.
func (c channels) responseTo(uid adapter.ServerId) string {
	return c.main + string(uid) + "#"
}

// classicChannel is where a classic broadcast goes: the room's channel for exactly one
// room, as Node's classic adapter and emitter publish, else the base channel.
func (c channels) classicChannel(opts *adapter.PacketOptions) string {
	if opts != nil && len(opts.Rooms) == 1 {
		return c.classic + string(opts.Rooms[0]) + "#"
	}
	return c.classic
}

// globEscape quotes the characters Redis glob patterns treat specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// nspAdapter is the cluster adapter of one namespace. The library's
// ClusterAdapterWithHeartbeat does the cluster logic; nspAdapter moves its messages
// through Redis.
type nspAdapter struct {
	adapter.ClusterAdapterWithHeartbeat

	set  *Adapter
	name string
	ch   channels

	closed    atomic.Bool
	closeOnce sync.Once
	roomsMu   sync.Mutex // orders room channel (un)subscriptions (AdapterOptions.RoomChannels)
}

// DoPublish sends a message to the other nodes (called by the library).
func (n *nspAdapter) DoPublish(m *adapter.ClusterMessage) (adapter.Offset, error) {
	channel, payload, err := n.encode(m)
	if err != nil {
		return "", fmt.Errorf("redis adapter: encode %s: %w", typeName(m.Type), err)
	}
	return "", n.set.publish(n.name, channel, payload, m.Type)
}

// encode picks the wire format and channel of an outgoing message: in classic mode a
// broadcast without acks goes out in Node's classic format.
func (n *nspAdapter) encode(m *adapter.ClusterMessage) (string, []byte, error) {
	if b, ok := m.Data.(*adapter.BroadcastMessage); ok && !n.set.opts.Sharded && b.RequestId == nil {
		payload, err := encodeClassic(n.Uid(), n.name, b)
		return n.ch.classicChannel(b.Opts), payload, err
	}
	payload, err := encodeCluster(m)
	return n.ch.main, payload, err
}

// DoPublishResponse answers a request of node to (called by the library).
func (n *nspAdapter) DoPublishResponse(to adapter.ServerId, m *adapter.ClusterResponse) error {
	payload, err := encodeCluster(m)
	if err != nil {
		return fmt.Errorf("redis adapter: encode %s: %w", typeName(m.Type), err)
	}
	return n.set.publish("", n.ch.responseTo(to), payload, m.Type)
}

// guard runs fn, which may restart the library's heartbeat timer, unless the adapter is
// closed. When Close ran meanwhile, the library is closed again afterwards, so no timer
// outlives Close. (Close does not wait for fn: fn may be what calls Close.)
func (n *nspAdapter) guard(fn func()) {
	if n.closed.Load() {
		return
	}
	defer func() {
		if n.closed.Load() {
			n.ClusterAdapterWithHeartbeat.Close()
		}
	}()
	fn()
}

// reannounce sends the initial heartbeat again (after the subscriber got Redis back).
func (n *nspAdapter) reannounce() {
	n.guard(n.Init)
}

// handle passes one message from Redis to the library, on the subscriber goroutine.
func (n *nspAdapter) handle(kind routeKind, payload []byte) {
	n.guard(func() { n.receive(kind, payload) })
}

// receive decodes a message and hands it to the library. An invalid message is logged
// and dropped; a panic in the library is recovered so one bad message cannot stop the
// subscriber.
func (n *nspAdapter) receive(kind routeKind, payload []byte) {
	defer func() {
		if r := recover(); r != nil {
			n.set.dropInvalid(n.name, fmt.Errorf("%w: handling it panicked: %v", errInvalid, r))
		}
	}()
	if kind == routeClassic {
		n.onClassic(payload)
		return
	}
	m, err := decodeCluster(payload)
	if err != nil {
		n.set.dropInvalid(n.name, err)
		return
	}
	if m.Uid == n.Uid() {
		return // our own message, echoed by Redis
	}
	n.set.metrics.received.WithLabelValues(typeName(m.Type)).Inc()
	if kind == routeResponses {
		n.OnResponse(m)
	} else {
		n.OnMessage(m, "")
	}
}

// onClassic delivers a classic broadcast (Node's classic adapter, the emitter, or
// another iohub node in classic mode) to the local sockets. Its sender is passed as the
// emitter: classic senders do not heartbeat, so they must not count as nodes.
func (n *nspAdapter) onClassic(payload []byte) {
	c, err := decodeClassic(payload)
	if err != nil {
		n.set.dropInvalid(n.name, err)
		return
	}
	if c.Uid == n.Uid() || c.Packet.Nsp != n.name {
		return
	}
	n.set.metrics.received.WithLabelValues(typeName(adapter.BROADCAST)).Inc()
	n.OnMessage(&adapter.ClusterMessage{
		Uid:  adapter.EMITTER_UID,
		Nsp:  n.name,
		Type: adapter.BROADCAST,
		Data: &adapter.BroadcastMessage{Packet: c.Packet, Opts: c.Opts},
	}, "")
}

// onRoomEvent follows create-room and delete-room (AdapterOptions.RoomChannels). Events
// of one room can race, so it subscribes or unsubscribes by the room's state after the
// event, not by the event.
func (n *nspAdapter) onRoomEvent(args ...any) {
	if len(args) == 0 {
		return
	}
	room, ok := args[0].(socket.Room)
	if !ok {
		return
	}
	n.roomsMu.Lock()
	defer n.roomsMu.Unlock()
	_, exists := n.Rooms().Load(room)
	n.set.setRoomChannel(n, n.ch.main+string(room)+"#", exists)
}

// FetchSockets is the library's, counting timeouts.
func (n *nspAdapter) FetchSockets(opts *socket.BroadcastOptions) func(func([]socket.SocketDetails, error)) {
	fetch := n.ClusterAdapterWithHeartbeat.FetchSockets(opts)
	return func(cb func([]socket.SocketDetails, error)) {
		fetch(func(sockets []socket.SocketDetails, err error) {
			if err != nil {
				n.set.requestTimedOut(n.name, "fetchSockets", err)
			}
			cb(sockets, err)
		})
	}
}

// ServerSideEmit is the library's, counting timeouts of emits with an ack.
func (n *nspAdapter) ServerSideEmit(packet []any) error {
	if last := len(packet) - 1; last >= 0 {
		if ack, ok := packet[last].(socket.Ack); ok {
			packet = append(slices.Clone(packet[:last]), socket.Ack(func(replies []any, err error) {
				if err != nil {
					n.set.requestTimedOut(n.name, "serverSideEmit", err)
				}
				ack(replies, err)
			}))
		}
	}
	return n.ClusterAdapterWithHeartbeat.ServerSideEmit(packet)
}

// Close stops handling messages, unsubscribes, tells the other nodes this node leaves
// the namespace and stops the heartbeat. It is idempotent.
func (n *nspAdapter) Close() {
	n.closeOnce.Do(func() {
		n.closed.Store(true)
		n.set.unregister(n)
		n.ClusterAdapterWithHeartbeat.Close()
	})
}
