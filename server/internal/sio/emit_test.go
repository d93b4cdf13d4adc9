package sio

import (
	"slices"
	"testing"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/servers/socket/v3"

	"github.com/iohub/iohub/server/chat"
)

// recorder is an adapter that keeps what it is asked to broadcast.
type recorder struct {
	socket.Adapter
	packets []*parser.Packet
	opts    []*socket.BroadcastOptions
}

func (r *recorder) Broadcast(p *parser.Packet, opts *socket.BroadcastOptions) {
	r.packets = append(r.packets, p)
	r.opts = append(r.opts, opts)
}

// recorderBuilder makes one recorder per namespace and remembers the last.
type recorderBuilder struct{ last *recorder }

func (b *recorderBuilder) New(nsp socket.Namespace) socket.Adapter {
	r := &recorder{Adapter: socket.MakeAdapter()}
	r.Prototype(r)
	r.Construct(nsp)
	b.last = r
	return r
}

type nopObserver struct{}

func (nopObserver) EventIn(string)             {}
func (nopObserver) EventOut(string)            {}
func (nopObserver) Replied(string, chat.Code)  {}
func (nopObserver) AuthFailed(string)          {}
func (nopObserver) SocketsChanged(string, int) {}

func newRecordingHub(t *testing.T) (*Hub, *recorderBuilder) {
	t.Helper()
	b := &recorderBuilder{}
	o := socket.DefaultServerOptions()
	o.SetAdapter(b)
	io := socket.NewServer(nil, o)
	t.Cleanup(func() { io.Close(nil) })
	h := New(io, Options{Observer: nopObserver{}})
	io.Of("/chat", nil)
	return h, b
}

func TestEmitHandsTheAdapterTheRoomExceptAndFlags(t *testing.T) {
	h, b := newRecordingHub(t)
	msg := chat.Message{ID: "1", Content: "hi"}
	h.Emit(chat.RoomRef{Namespace: "/chat", Room: "general"}, chat.EventNewMessage, msg, chat.EmitOptions{})
	h.Emit(chat.RoomRef{Namespace: "/chat", Room: "general"}, chat.EventUserTyping, "x", chat.EmitOptions{ExceptSocket: "sid1", Volatile: true})
	r := b.last
	if len(r.packets) != 2 {
		t.Fatalf("%d broadcasts, want 2", len(r.packets))
	}
	for i, want := range []struct {
		data     []any
		except   []socket.Room
		volatile bool
	}{
		{[]any{chat.EventNewMessage, msg}, []socket.Room{}, false},
		{[]any{chat.EventUserTyping, "x"}, []socket.Room{"sid1"}, true},
	} {
		p, opts := r.packets[i], r.opts[i]
		if p.Type != parser.EVENT || !slices.Equal(p.Data.([]any), want.data) {
			t.Errorf("broadcast %d: packet %+v, want an EVENT of %v", i, p, want.data)
		}
		if got := opts.Rooms.Keys(); !slices.Equal(got, []socket.Room{"general"}) {
			t.Errorf("broadcast %d: rooms %v", i, got)
		}
		if got := opts.Except.Keys(); !slices.Equal(got, want.except) {
			t.Errorf("broadcast %d: except %v, want %v", i, got, want.except)
		}
		if opts.Flags == nil || opts.Flags.Volatile != want.volatile {
			t.Errorf("broadcast %d: flags %+v, want volatile %v", i, opts.Flags, want.volatile)
		}
	}
}

// Emit hands a broadcast over in one allocation, besides boxing (the event name, the
// packet's data, the namespace name for Server.Of) and the room set's key slice.
func TestEmitAllocations(t *testing.T) {
	h, b := newRecordingHub(t)
	ref := chat.RoomRef{Namespace: "/chat", Room: "general"}
	payload := any(chat.Message{ID: "1"})
	n := testing.AllocsPerRun(100, func() {
		h.Emit(ref, chat.EventNewMessage, payload, chat.EmitOptions{})
		b.last.packets, b.last.opts = b.last.packets[:0], b.last.opts[:0]
	})
	if n > 5 {
		t.Fatalf("%v allocations per Emit, want at most 5", n)
	}
}

// An ack is the ACK packet of the event's id carrying the reply, built with its id and
// data in one allocation (and the boxing of the data slice).
func TestNewAck(t *testing.T) {
	reply := any(chat.RoomReply{Success: true, RoomID: "general"})
	p := newAck(7, reply)
	if p.Type != parser.ACK || p.Id == nil || *p.Id != 7 || !slices.Equal(p.Data.([]any), []any{reply}) {
		t.Fatalf("got %+v", p)
	}
	if n := testing.AllocsPerRun(100, func() { newAck(7, reply) }); n > 2 {
		t.Fatalf("%v allocations, want at most 2", n)
	}
}
