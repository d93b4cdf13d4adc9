package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/iohub/iohub/server/chat"
)

// The database layout: three top-level buckets whose keys start with the room's prefix
// P = key(namespace, room), so each room's entries are contiguous:
//
//	msgs/     P ‖ seq (8 bytes, big-endian) -> encode(chat.Message)
//	cursors/  P ‖ key(userID) -> seq read up to, inclusive (8 bytes)
//	dedup/    P ‖ key(author, clientMessageID) -> seq (8 bytes)
//
// A room numbers its messages 1, 2, 3, ... and a message's ID is chat.FormatID(seq), 20
// zero-padded decimal digits, so IDs sort byte-wise like the keys. The last seq is the
// room's last key in msgs, and the unread count is the last seq minus the cursor's seq.
//
// Flat buckets, rather than a bucket per room, keep a commit that touches many rooms to
// a few pages per room: that is what lets one fsync serve many senders in many rooms.
var (
	msgsBucket    = []byte("msgs")
	cursorsBucket = []byte("cursors")
	dedupBucket   = []byte("dedup")
	allBuckets    = [][]byte{msgsBucket, cursorsBucket, dedupBucket}
)

// seqLen is the length of a sequence number in keys and values.
const seqLen = 8

// key joins parts unambiguously (each is prefixed by its length), so ("a", "bc") and
// ("ab", "c") differ, no key is empty, and no room's prefix starts another room's keys.
func key(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = appendString(out, p)
	}
	return out
}

// seqBytes is the 8-byte big-endian form of seq, which sorts like seq.
func seqBytes(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// bytesSeq is the inverse of seqBytes; a value of another length reads as 0 (nothing).
func bytesSeq(b []byte) uint64 {
	if len(b) != seqLen {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// createBuckets creates the top-level buckets that are missing.
func createBuckets(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// room addresses one room's entries within a transaction.
type room struct {
	ref                  chat.RoomRef
	msgs, cursors, dedup *bbolt.Bucket
	prefix               []byte
}

// appendFill is the FillPercent of msgs, where each room only appends: a page that
// splits is never written again, so it is left nearly full instead of half. (dedup keys
// are client ids in any order, so that bucket keeps bbolt's default.)
const appendFill = 0.95

// openRoom addresses the room in tx; a room without messages simply has no entries.
func openRoom(tx *bbolt.Tx, ref chat.RoomRef) room {
	r := room{
		ref:     ref,
		msgs:    tx.Bucket(msgsBucket),
		cursors: tx.Bucket(cursorsBucket),
		dedup:   tx.Bucket(dedupBucket),
		prefix:  key(ref.Namespace, ref.Room),
	}
	r.msgs.FillPercent = appendFill
	return r
}

// withPrefix is the room's prefix followed by the given parts.
func (r room) withPrefix(parts ...string) []byte {
	return append(slices.Clip(r.prefix), key(parts...)...)
}

// msgKey is the key of message seq.
func (r room) msgKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clip(r.prefix), seq)
}

// seqAt is the sequence of msgs key k, or 0 when k is not a message of the room (or nil).
func (r room) seqAt(k []byte) uint64 {
	if len(k) != len(r.prefix)+seqLen || !bytes.HasPrefix(k, r.prefix) {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(r.prefix):])
}

// seekBefore places c on the newest key below the room's message bound (which may be
// another room's key, or nil).
func (r room) seekBefore(c *bbolt.Cursor, bound uint64) (k, v []byte) {
	if k, _ = c.Seek(r.msgKey(bound)); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// last is the sequence of the room's newest message (0 when it has none).
func (r room) last() uint64 {
	k, _ := r.seekBefore(r.msgs.Cursor(), math.MaxUint64)
	return r.seqAt(k)
}

// find is the sequence of the message with the given id; ok is false when the room has no
// such message.
func (r room) find(id string) (seq uint64, ok bool) {
	seq, ok = chat.ParseID(r.ref, id)
	return seq, ok && r.msgs.Get(r.msgKey(seq)) != nil
}

// message reads the message with sequence seq, which the caller knows exists.
func (r room) message(seq uint64) (chat.Message, error) {
	v := r.msgs.Get(r.msgKey(seq))
	if v == nil {
		return chat.Message{}, fmt.Errorf("message %d is missing", seq)
	}
	return decode(v)
}

// duplicateOf is the sequence of the message author stored with clientMessageID (0 when
// there is none).
func (r room) duplicateOf(author, clientMessageID string) uint64 {
	return bytesSeq(r.dedup.Get(r.withPrefix(author, clientMessageID)))
}

// cursor is the sequence userID has read up to (0 before the first read).
func (r room) cursor(userID string) uint64 {
	return bytesSeq(r.cursors.Get(r.withPrefix(userID)))
}

// readState describes cursor seq as chat.Store reports it: the ID ("" for 0) and the
// number of messages after it.
func (r room) readState(seq uint64) (cursor string, unread int) {
	unread = int(r.last() - seq)
	if seq == 0 {
		return "", unread
	}
	return chat.FormatID(r.ref, seq), unread
}

// put stores msg as message seq and moves its author's cursor to it.
func (r room) put(seq uint64, msg chat.Message) error {
	if err := r.msgs.Put(r.msgKey(seq), encode(msg)); err != nil {
		return fmt.Errorf("put message: %w", err)
	}
	if msg.ClientMessageID != nil {
		if err := r.dedup.Put(r.withPrefix(msg.UserID, *msg.ClientMessageID), seqBytes(seq)); err != nil {
			return fmt.Errorf("put client message id: %w", err)
		}
	}
	return r.setCursor(msg.UserID, seq)
}

// setCursor records that userID has read up to seq.
func (r room) setCursor(userID string, seq uint64) error {
	if err := r.cursors.Put(r.withPrefix(userID), seqBytes(seq)); err != nil {
		return fmt.Errorf("put read cursor: %w", err)
	}
	return nil
}
