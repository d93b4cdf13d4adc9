package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/iohub/iohub/server/chat"
)

// Messages are stored in a small binary form instead of JSON, because History decodes
// every message it returns (and Append encodes inside the single writer):
//
//	codecVersion, flags (hasReplyTo | hasClientMessageID), then eight length-prefixed
//	strings: ID, RoomID, UserID, UserName, Content, Timestamp, ReplyTo, ClientMessageID
//
// An absent ReplyTo or ClientMessageID is stored as "" with its flag clear.
const (
	codecVersion       = 1
	hasReplyTo         = 1 << 0
	hasClientMessageID = 1 << 1
	codecFields        = 8
)

// errCorrupt is the error of a stored value that decode cannot read.
var errCorrupt = errors.New("corrupt message record")

// appendString appends s, prefixed by its length as a uvarint.
func appendString(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// encode is the stored form of msg.
func encode(msg chat.Message) []byte {
	var flags byte
	if msg.ReplyTo != nil {
		flags |= hasReplyTo
	}
	if msg.ClientMessageID != nil {
		flags |= hasClientMessageID
	}
	fields := [codecFields]string{msg.ID, msg.RoomID, msg.UserID, msg.UserName, msg.Content,
		msg.Timestamp, deref(msg.ReplyTo), deref(msg.ClientMessageID)}
	size := 2
	for _, f := range fields {
		size += binary.MaxVarintLen64 + len(f)
	}
	out := append(make([]byte, 0, size), codecVersion, flags)
	for _, f := range fields {
		out = appendString(out, f)
	}
	return out
}

// decode reads a value written by encode. It copies v once (bolt's memory is only valid
// inside the transaction) and the fields share that copy.
func decode(v []byte) (chat.Message, error) {
	if len(v) < 2 || v[0] != codecVersion {
		return chat.Message{}, fmt.Errorf("%w: unknown format", errCorrupt)
	}
	flags, rest := v[1], string(v[2:])
	var fields [codecFields]string
	for i := range fields {
		n, k := binary.Uvarint([]byte(rest[:min(len(rest), binary.MaxVarintLen64)]))
		if k <= 0 || n > uint64(len(rest)-k) {
			return chat.Message{}, fmt.Errorf("%w: field %d", errCorrupt, i)
		}
		fields[i], rest = rest[k:k+int(n)], rest[k+int(n):]
	}
	msg := chat.Message{ID: fields[0], RoomID: fields[1], UserID: fields[2], UserName: fields[3],
		Content: fields[4], Timestamp: fields[5]}
	if flags&hasReplyTo != 0 {
		msg.ReplyTo = new(fields[6])
	}
	if flags&hasClientMessageID != 0 {
		msg.ClientMessageID = new(fields[7])
	}
	return msg, nil
}

// deref is *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
