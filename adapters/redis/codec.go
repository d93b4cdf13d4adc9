package redis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/zishang520/socket.io/adapters/adapter/v3"
	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
)

// errInvalid marks a message from Redis that iohub cannot use; it is logged and dropped.
var errInvalid = errors.New("invalid message")

// msgpackMarshal encodes v as msgpack; struct fields without a msgpack tag take their
// name from the json tag, so payload structs need only json tags.
func msgpackMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetCustomStructTag("json")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("msgpack encode: %w", err)
	}
	return buf.Bytes(), nil
}

// msgpackUnmarshal is the inverse of msgpackMarshal.
func msgpackUnmarshal(b []byte, v any) error {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.SetCustomStructTag("json")
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("msgpack decode: %w", err)
	}
	return nil
}

// envelope is Node's ClusterAdapter message {uid, nsp, type, data} with data still raw.
type envelope[R any] struct {
	Uid  adapter.ServerId    `json:"uid" msgpack:"uid"`
	Nsp  string              `json:"nsp" msgpack:"nsp"`
	Type adapter.MessageType `json:"type" msgpack:"type"`
	Data R                   `json:"data" msgpack:"data"`
}

// encodeCluster encodes m as Node's sharded adapter does: JSON, or msgpack when the
// payload carries binary data.
func encodeCluster(m *adapter.ClusterMessage) ([]byte, error) {
	if parser.HasBinary(binaryCarrier(m.Data)) {
		return msgpackMarshal(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("json encode: %w", err)
	}
	return b, nil
}

// binaryCarrier returns the user data inside a payload, where binary can hide.
func binaryCarrier(data any) any {
	switch d := data.(type) {
	case *adapter.BroadcastMessage:
		if d.Packet != nil {
			return d.Packet.Data
		}
	case *adapter.ServerSideEmitMessage:
		return d.Packet
	case *adapter.ServerSideEmitResponse:
		return d.Packet
	case *adapter.BroadcastAck:
		return d.Packet
	case *adapter.FetchSocketsResponse:
		data := make([]any, 0, len(d.Sockets))
		for _, s := range d.Sockets {
			if s != nil {
				data = append(data, s.Data)
			}
		}
		return data
	}
	return nil
}

// decodeCluster decodes an envelope (JSON when it starts with '{', msgpack otherwise)
// into a ClusterMessage whose Data is the typed struct its type names, and checks it so
// the library never dereferences a missing field.
func decodeCluster(raw []byte) (*adapter.ClusterMessage, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: empty", errInvalid)
	}
	var (
		m      adapter.ClusterMessage
		fill   func(any) error
		hasRaw bool
	)
	if raw[0] == '{' {
		var env envelope[json.RawMessage]
		if err := json.Unmarshal(raw, &env); err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalid, err)
		}
		m = adapter.ClusterMessage{Uid: env.Uid, Nsp: env.Nsp, Type: env.Type}
		hasRaw = len(env.Data) > 0 && string(env.Data) != "null"
		fill = func(v any) error { return json.Unmarshal(env.Data, v) }
	} else {
		var env envelope[msgpack.RawMessage]
		if err := msgpackUnmarshal(raw, &env); err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalid, err)
		}
		m = adapter.ClusterMessage{Uid: env.Uid, Nsp: env.Nsp, Type: env.Type}
		hasRaw = len(env.Data) > 0 && env.Data[0] != msgpackNil
		fill = func(v any) error { return msgpackUnmarshal(env.Data, v) }
	}
	if m.Uid == "" {
		return nil, fmt.Errorf("%w: no uid", errInvalid)
	}
	data, err := newPayload(m.Type)
	if err != nil {
		return nil, err
	}
	if data != nil {
		if !hasRaw {
			return nil, fmt.Errorf("%w: type %d without data", errInvalid, m.Type)
		}
		if err := fill(data); err != nil {
			return nil, fmt.Errorf("%w: type %d: %w", errInvalid, m.Type, err)
		}
		m.Data = data
	}
	if err := validate(&m); err != nil {
		return nil, err
	}
	return &m, nil
}

// msgpackNil is msgpack's encoding of nil.
const msgpackNil = 0xc0

// newPayload returns a pointer to the struct that carries the data of message type t,
// nil for the types without data.
func newPayload(t adapter.MessageType) (any, error) {
	switch t {
	case adapter.INITIAL_HEARTBEAT, adapter.HEARTBEAT, adapter.ADAPTER_CLOSE:
		return nil, nil
	case adapter.BROADCAST:
		return &adapter.BroadcastMessage{}, nil
	case adapter.SOCKETS_JOIN, adapter.SOCKETS_LEAVE:
		return &adapter.SocketsJoinLeaveMessage{}, nil
	case adapter.DISCONNECT_SOCKETS:
		return &adapter.DisconnectSocketsMessage{}, nil
	case adapter.FETCH_SOCKETS:
		return &adapter.FetchSocketsMessage{}, nil
	case adapter.FETCH_SOCKETS_RESPONSE:
		return &adapter.FetchSocketsResponse{}, nil
	case adapter.SERVER_SIDE_EMIT:
		return &adapter.ServerSideEmitMessage{}, nil
	case adapter.SERVER_SIDE_EMIT_RESPONSE:
		return &adapter.ServerSideEmitResponse{}, nil
	case adapter.BROADCAST_CLIENT_COUNT:
		return &adapter.BroadcastClientCount{}, nil
	case adapter.BROADCAST_ACK:
		return &adapter.BroadcastAck{}, nil
	default:
		return nil, fmt.Errorf("%w: unknown type %d", errInvalid, t)
	}
}

// validate rejects payloads the library would crash on.
func validate(m *adapter.ClusterMessage) error {
	switch d := m.Data.(type) {
	case *adapter.BroadcastMessage:
		return validatePacket(d.Packet)
	case *adapter.ServerSideEmitMessage:
		if len(d.Packet) == 0 {
			return fmt.Errorf("%w: serverSideEmit without event", errInvalid)
		}
	case *adapter.FetchSocketsResponse:
		for _, s := range d.Sockets {
			if s == nil || s.Handshake == nil {
				return fmt.Errorf("%w: fetchSockets response without socket handshake", errInvalid)
			}
		}
	}
	return nil
}

// validatePacket accepts event packets only: the only packets a broadcast carries.
func validatePacket(p *parser.Packet) error {
	if p == nil {
		return fmt.Errorf("%w: broadcast without packet", errInvalid)
	}
	if p.Type != parser.EVENT && p.Type != parser.BINARY_EVENT {
		return fmt.Errorf("%w: broadcast of packet type %d", errInvalid, p.Type)
	}
	if data, ok := p.Data.([]any); !ok || len(data) == 0 {
		return fmt.Errorf("%w: broadcast packet without event", errInvalid)
	}
	return nil
}

// classicPacket is a broadcast in the format of Node's classic adapter and of
// @socket.io/redis-emitter: the msgpack array [uid, packet, {rooms, except, flags}].
type classicPacket struct {
	_msgpack struct{} `msgpack:",as_array"` //nolint:unused // msgpack encodes the struct as an array

	Uid    adapter.ServerId
	Packet *parser.Packet
	Opts   *adapter.PacketOptions
}

// encodeClassic encodes a broadcast of namespace nsp in the classic format.
func encodeClassic(uid adapter.ServerId, nsp string, b *adapter.BroadcastMessage) ([]byte, error) {
	packet := *b.Packet
	packet.Nsp = nsp
	return msgpackMarshal(&classicPacket{Uid: uid, Packet: &packet, Opts: b.Opts})
}

// decodeClassic decodes and checks a classic broadcast. A packet without nsp is for "/",
// as in Node.
func decodeClassic(raw []byte) (*classicPacket, error) {
	var c classicPacket
	if err := msgpackUnmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	if err := validatePacket(c.Packet); err != nil {
		return nil, err
	}
	if c.Packet.Nsp == "" {
		c.Packet.Nsp = "/"
	}
	return &c, nil
}
