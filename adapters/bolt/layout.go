package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

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
// room's last key in msgs (or in an overlay, see overlay.go), and the unread count is the
// last seq minus the cursor's seq.
//
// Flat buckets, rather than a bucket per room, keep a checkpoint, which touches many
// rooms, to a few pages per room.
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
	return appendKey(make([]byte, 0, keyLen(parts)), parts)
}

// appendKey appends the key of parts to out.
func appendKey(out []byte, parts []string) []byte {
	for _, p := range parts {
		out = appendString(out, p)
	}
	return out
}

// keyLen bounds the length of the key of parts, so a key is built in one allocation.
func keyLen(parts []string) int {
	n := 0
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	return n
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

// view is what one operation sees: a bbolt read transaction under the overlays of the
// writes not in the file yet. The writer's view also has the overlay of its batch, where
// its writes go.
type view struct {
	tx       *bbolt.Tx
	overlays []*overlay // newest first
	batch    *overlay   // overlays[0] in the writer's view, else nil
	stamp    string     // the timestamp of the batch's messages, once one needs it
	// msgs and kv are tx's buckets, looked up on first use: each lookup searches the root
	// bucket and allocates, and the writer's view serves a whole batch.
	msgs *bbolt.Bucket
	kv   [kvCount]*bbolt.Bucket
}

// newView is the view of tx under the given overlays, newest first; nil ones are skipped.
func newView(tx *bbolt.Tx, batch *overlay, older ...*overlay) *view {
	v := &view{tx: tx, batch: batch, overlays: make([]*overlay, 0, 1+len(older))}
	for _, o := range append([]*overlay{batch}, older...) {
		if o != nil {
			v.overlays = append(v.overlays, o)
		}
	}
	return v
}

// timestamp is the Timestamp of the messages the view's batch appends: they are stored
// together, and formatting the time once per batch rather than once per message halves
// appendTx's CPU time.
func (v *view) timestamp() string {
	if v.stamp == "" {
		v.stamp = chat.FormatTimestamp(time.Now())
	}
	return v.stamp
}

// get is the value of key in key-value bucket b (kvCursors, kvDedup), or nil.
func (v *view) get(b int, key []byte) []byte {
	for _, o := range v.overlays {
		if val, ok := o.kv[b][string(key)]; ok {
			return val
		}
	}
	if v.kv[b] == nil {
		v.kv[b] = v.tx.Bucket(kvBuckets[b])
	}
	return v.kv[b].Get(key)
}

// room addresses one room's entries within a view.
type room struct {
	ref    chat.RoomRef
	v      *view
	msgs   *bbolt.Bucket
	prefix []byte
}

// appendFill is the FillPercent of msgs, where each room only appends: a page that
// splits is never written again, so it is left nearly full instead of half. (dedup keys
// are client ids in any order, so that bucket keeps bbolt's default.)
const appendFill = 0.95

// room addresses the room in v; a room without messages simply has no entries.
func (v *view) room(ref chat.RoomRef) room {
	if v.msgs == nil {
		v.msgs = v.tx.Bucket(msgsBucket)
	}
	return room{ref: ref, v: v, msgs: v.msgs, prefix: key(ref.Namespace, ref.Room)}
}

// withPrefix is the room's prefix followed by the given parts.
func (r room) withPrefix(parts ...string) []byte {
	return appendKey(append(make([]byte, 0, len(r.prefix)+keyLen(parts)), r.prefix...), parts)
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

// pending is the encoded message seq when it is in an overlay, else nil.
func (r room) pending(seq uint64) []byte {
	for _, o := range r.v.overlays {
		if val := o.tails[string(r.prefix)].get(seq); val != nil {
			return val
		}
	}
	return nil
}

// last is the sequence of the room's newest message (0 when it has none).
func (r room) last() uint64 {
	for _, o := range r.v.overlays {
		if t := o.tails[string(r.prefix)]; t != nil {
			return t.last()
		}
	}
	k, _ := r.seekBefore(r.msgs.Cursor(), math.MaxUint64)
	return r.seqAt(k)
}

// stored is the encoded message seq, or nil when the room has none.
func (r room) stored(seq uint64) []byte {
	if val := r.pending(seq); val != nil {
		return val
	}
	return r.msgs.Get(r.msgKey(seq))
}

// find is the sequence of the message with the given id; ok is false when the room has no
// such message.
func (r room) find(id string) (seq uint64, ok bool) {
	seq, ok = chat.ParseID(r.ref, id)
	return seq, ok && r.stored(seq) != nil
}

// message reads the message with sequence seq, which the caller knows exists.
func (r room) message(seq uint64) (chat.Message, error) {
	v := r.stored(seq)
	if v == nil {
		return chat.Message{}, fmt.Errorf("message %d is missing", seq)
	}
	return decode(v)
}

// duplicateOf is the sequence of the message author stored with clientMessageID (0 when
// there is none).
func (r room) duplicateOf(author, clientMessageID string) uint64 {
	return bytesSeq(r.v.get(kvDedup, r.withPrefix(author, clientMessageID)))
}

// cursor is the sequence userID has read up to (0 before the first read).
func (r room) cursor(userID string) uint64 {
	return bytesSeq(r.v.get(kvCursors, r.withPrefix(userID)))
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

// put stores msg as message seq, the room's next, and moves its author's cursor to it.
// Only the writer's view can put.
func (r room) put(seq uint64, msg chat.Message) error {
	if err := r.v.batch.putMsg(string(r.prefix), seq, encode(msg)); err != nil {
		return fmt.Errorf("put message: %w", err)
	}
	if msg.ClientMessageID != nil {
		r.v.batch.kv[kvDedup][string(r.withPrefix(msg.UserID, *msg.ClientMessageID))] = seqBytes(seq)
	}
	r.setCursor(msg.UserID, seq)
	return nil
}

// setCursor records that userID has read up to seq. Only the writer's view can set it.
func (r room) setCursor(userID string, seq uint64) {
	r.v.batch.kv[kvCursors][string(r.withPrefix(userID))] = seqBytes(seq)
}
