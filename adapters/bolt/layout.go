package bolt

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/iohub/iohub/server/chat"
)

// The database layout:
//
//	rooms/                          rootBucket
//	  key(namespace, room)/         one bucket per room
//	    msgs/     seqKey(seq) -> encode(chat.Message); the bucket's sequence is the last seq
//	    dedup/    key(author, clientMessageID) -> seqKey(seq)
//	    cursors/  key(userID) -> seqKey(seq read up to, inclusive)
//
// A room numbers its messages 1, 2, 3, ... and a message's ID is chat.FormatID(seq), 20
// zero-padded decimal digits, so IDs sort byte-wise like the big-endian keys and the
// unread count is the last seq minus the cursor's seq.
var (
	rootBucket    = []byte("rooms")
	msgsBucket    = []byte("msgs")
	dedupBucket   = []byte("dedup")
	cursorsBucket = []byte("cursors")
)

// key joins parts unambiguously (each is prefixed by its length), so ("a", "bc") and
// ("ab", "c") differ and no key is empty.
func key(parts ...string) []byte {
	var out []byte
	for _, p := range parts {
		out = appendString(out, p)
	}
	return out
}

// seqKey is the 8-byte big-endian form of seq, which sorts like seq.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// keySeq is the inverse of seqKey; a value of another length reads as 0 (nothing).
func keySeq(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// room holds the buckets of one room within a transaction.
type room struct {
	msgs, dedup, cursors *bbolt.Bucket
}

// openRoom finds the room's buckets; ok is false when the room has never had a message.
func openRoom(tx *bbolt.Tx, ref chat.RoomRef) (r room, ok bool) {
	b := tx.Bucket(rootBucket).Bucket(key(ref.Namespace, ref.Room))
	if b == nil {
		return room{}, false
	}
	return room{b.Bucket(msgsBucket), b.Bucket(dedupBucket), b.Bucket(cursorsBucket)}, true
}

// createRoom opens the room's buckets, creating them when needed (writable tx only).
func createRoom(tx *bbolt.Tx, ref chat.RoomRef) (room, error) {
	b, err := tx.Bucket(rootBucket).CreateBucketIfNotExists(key(ref.Namespace, ref.Room))
	if err != nil {
		return room{}, fmt.Errorf("create room bucket: %w", err)
	}
	var r room
	for _, sub := range []struct {
		name []byte
		dst  **bbolt.Bucket
	}{{msgsBucket, &r.msgs}, {dedupBucket, &r.dedup}, {cursorsBucket, &r.cursors}} {
		if *sub.dst, err = b.CreateBucketIfNotExists(sub.name); err != nil {
			return room{}, fmt.Errorf("create %s bucket: %w", sub.name, err)
		}
	}
	return r, nil
}

// message reads the message with sequence seq, which the caller knows exists.
func (r room) message(seq uint64) (chat.Message, error) {
	v := r.msgs.Get(seqKey(seq))
	if v == nil {
		return chat.Message{}, fmt.Errorf("message %d is missing", seq)
	}
	return decode(v)
}

// lookup finds the message with the given id in the room: its room, its sequence, and
// whether it exists at all.
func lookup(tx *bbolt.Tx, ref chat.RoomRef, id string) (r room, seq uint64, ok bool) {
	r, exists := openRoom(tx, ref)
	seq, valid := chat.ParseID(id)
	if !exists || !valid || r.msgs.Get(seqKey(seq)) == nil {
		return room{}, 0, false
	}
	return r, seq, true
}

// cursor is the sequence userID has read up to (0 before the first read).
func (r room) cursor(userID string) uint64 {
	return keySeq(r.cursors.Get(key(userID)))
}

// readState describes cursor seq of the room as chat.Store reports it: the ID ("" for 0)
// and the number of messages after it.
func (r room) readState(seq uint64) (cursor string, unread int) {
	unread = int(r.msgs.Sequence() - seq)
	if seq == 0 {
		return "", unread
	}
	return chat.FormatID(seq), unread
}

// put stores msg as message seq and moves its author's cursor to it.
func (r room) put(seq uint64, msg chat.Message) error {
	if err := r.msgs.Put(seqKey(seq), encode(msg)); err != nil {
		return fmt.Errorf("put message: %w", err)
	}
	if msg.ClientMessageID != nil {
		if err := r.dedup.Put(key(msg.UserID, *msg.ClientMessageID), seqKey(seq)); err != nil {
			return fmt.Errorf("put client message id: %w", err)
		}
	}
	return r.setCursor(msg.UserID, seq)
}

// setCursor records that userID has read up to seq.
func (r room) setCursor(userID string, seq uint64) error {
	if err := r.cursors.Put(key(userID), seqKey(seq)); err != nil {
		return fmt.Errorf("put read cursor: %w", err)
	}
	return nil
}
